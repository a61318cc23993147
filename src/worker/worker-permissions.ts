/**
 * What a worker allows the specs it runs to do. The spec arrives through workflow history, so it
 * can only ask; these settings, given to the worker by whoever runs it, decide.
 */
import path from 'node:path';
import { MlcycleError } from '../errors';

export interface WorkerPermissions {
  /** Programs a `command` trainer may run (`--allow-command`); empty: none. */
  allowedCommands: string[];
  /** Folders local data may come from (`--data-root`). */
  dataRoots: string[];
  /** Worker environment variables a spec may pass to a command trainer by listing them in `train.env` (`--allow-env`). */
  allowedEnv: string[];
}

const list = (value: string | undefined, sep: string | RegExp) => (value ?? '').split(sep).map((s) => s.trim()).filter(Boolean);

/**
 * Flags first, then MLCYCLE_ALLOWED_COMMANDS (comma-separated), MLCYCLE_DATA_ROOTS (separated by
 * the platform's path delimiter, `:` here) and MLCYCLE_ALLOWED_ENV (comma-separated); data roots
 * default to the working directory.
 */
export function workerPermissions(
  flags: { allowCommand?: string[]; dataRoot?: string[]; allowEnv?: string[] } = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): WorkerPermissions {
  const commands = flags.allowCommand?.length ? flags.allowCommand : list(env.MLCYCLE_ALLOWED_COMMANDS, ',');
  const roots = flags.dataRoot?.length ? flags.dataRoot : list(env.MLCYCLE_DATA_ROOTS, path.delimiter);
  const allowedEnv = flags.allowEnv?.length ? flags.allowEnv : list(env.MLCYCLE_ALLOWED_ENV, ',');
  for (const name of allowedEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new MlcycleError('USAGE', `--allow-env: ${JSON.stringify(name)} is not an environment variable name`);
  }
  return {
    allowedCommands: commands,
    dataRoots: (roots.length ? roots : [cwd]).map((r) => path.resolve(cwd, r)),
    allowedEnv,
  };
}

/** Refuses (PERMISSION_DENIED, naming the flag) a program this worker does not allow. */
export function assertCommandAllowed(program: string, cwd: string | undefined, allowed: readonly string[]): void {
  const spelled = program.includes('/') ? path.resolve(cwd ?? process.cwd(), program) : program;
  const ok = allowed.some((a) => (a.includes('/') ? path.resolve(a) === spelled : a === spelled));
  if (!ok) {
    throw new MlcycleError(
      'PERMISSION_DENIED',
      `train.command: this worker does not run "${program}": command trainers run only programs allowed with --allow-command <program> (MLCYCLE_ALLOWED_COMMANDS)${allowed.length ? `; allowed: ${allowed.join(', ')}` : '; none allowed'}`,
    );
  }
}

/**
 * The environment a command trainer starts with: PATH, HOME, LANG (and LC_ALL), and the
 * variables the spec lists in `train.env` that the worker also allows; nothing else of the
 * worker's (its storage keys, codec keys, webhook secrets stay behind).
 */
export function trainerBaseEnv(workerEnv: NodeJS.ProcessEnv, requested: readonly string[], allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR']) {
    const v = workerEnv[name];
    if (v !== undefined) out[name] = v;
  }
  for (const name of requested) {
    if (!allowed.includes(name)) {
      throw new MlcycleError('PERMISSION_DENIED', `train.env: this worker does not pass ${name} to trainers; allow it with --allow-env ${name} (MLCYCLE_ALLOWED_ENV)`);
    }
    const v = workerEnv[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
