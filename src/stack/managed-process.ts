import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { MlcycleError } from '../errors';

/**
 * A child service process whose output goes to a log file and which is stopped with SIGTERM, then
 * SIGKILL after a grace period. Every live one is tracked so an exiting parent can reap them and
 * leave no orphans behind.
 */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly logPath: string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  stop(graceMs?: number): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<ChildProcess>();

function reapAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.once('exit', reapAll);

export function startManagedProcess(opts: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logPath: string;
  cwd?: string;
  /** Run as this user and group (the caller must be root): services that refuse to run as root. */
  uid?: number;
  gid?: number;
}): ManagedProcess {
  const log = fs.createWriteStream(opts.logPath, { flags: 'a' });
  const child = spawn(opts.command, opts.args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  live.add(child);
  const recent: string[] = [];
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 40) recent.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitedFlag = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      recent.push(`spawn error: ${err.message}`);
      exitedFlag = true;
      live.delete(child);
      resolve(-1);
    });
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      log.end();
      resolve(code ?? (signal ? 128 : null));
    });
  });

  return {
    name: opts.name,
    pid: child.pid,
    logPath: opts.logPath,
    exited,
    hasExited: () => exitedFlag,
    tail: (n = 15) => recent.slice(-n).join('\n'),
    async stop(graceMs = 10_000) {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it succeeds; fails early when the process dies, naming the service. */
export async function waitUntilHealthy(
  proc: ManagedProcess | undefined,
  service: string,
  address: string,
  probe: () => Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.hasExited()) {
      throw new MlcycleError(
        'SERVICE_UNREACHABLE',
        `${service} exited before it became healthy at ${address}; last output:\n${proc.tail()}\nlog: ${proc.logPath}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new MlcycleError(
    'SERVICE_UNREACHABLE',
    `${service} did not become healthy at ${address} within ${Math.round(timeoutMs / 1000)}s` +
      (proc ? `; last output:\n${proc.tail()}\nlog: ${proc.logPath}` : ''),
  );
}
