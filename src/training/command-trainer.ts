/**
 * Trainer `command`: runs any program as the training step.
 *
 * ## What the program gets
 *
 * It runs with the given arguments and working folder, with the worker's environment plus:
 *
 *   MLCYCLE_PARAMS_FILE      path of a JSON file holding `train.params` ({"learningRate": 0.1, ...})
 *   MLCYCLE_PARAM_<NAME>     each param on its own: NAME is the param name upper-cased with every
 *                            character other than A-Z, 0-9 and _ turned into _
 *                            (learningRate → MLCYCLE_PARAM_LEARNINGRATE, max-depth → MLCYCLE_PARAM_MAX_DEPTH);
 *                            booleans are `true`/`false`
 *   MLCYCLE_OUTPUT_DIR       an existing, empty folder: write the model and anything else to keep
 *                            there; it is uploaded after the program exits with status 0
 *   MLCYCLE_CHECKPOINT_DIR   an existing folder to write checkpoints into (see below)
 *   MLCYCLE_RESUME_FROM      only when resuming: the folder of the last checkpoint the program
 *                            announced before it was interrupted; continue from it
 *   CUDA_VISIBLE_DEVICES     when the task was given a GPU: its index
 *
 * ## What the program says: the line protocol
 *
 * Lines on stdout that start with `MLCYCLE ` followed by one JSON object are messages to mlcycle;
 * every other line (stdout and stderr) is ordinary output, of which the last 50 lines are kept to
 * explain a failure. Messages:
 *
 *   MLCYCLE {"type":"metric","epoch":3,"total":10,"name":"loss","value":0.42}
 *       a metric value; `epoch` (1-based) and `total` (epochs planned) are optional but make
 *       progress reporting possible. `name` is any string, `value` a finite number.
 *
 *   MLCYCLE {"type":"checkpoint","epoch":3,"path":"epoch-3"}
 *       the program has finished writing a checkpoint after epoch 3. `path` is optional: the
 *       checkpoint's folder relative to MLCYCLE_CHECKPOINT_DIR (it must stay inside it); without it
 *       the checkpoint is MLCYCLE_CHECKPOINT_DIR itself. The checkpoint is copied away while the
 *       program goes on, so do not change a checkpoint's files after announcing it: write each one
 *       to a fresh folder (e.g. `epoch-<n>`) or to a temporary folder renamed into place.
 *
 * A line with the prefix that does not parse as such a message is kept as ordinary output. Unknown
 * `type`s are ignored, so newer programs keep working with older mlcycle.
 *
 * ## Ending
 *
 * Exit status 0 is success. Any other status, or death by a signal, fails the step with
 * TRAINING_FAILED, quoting the status and the last lines of output. On cancellation the program's
 * process group gets SIGTERM, then SIGKILL after a grace period (10 s by default): save or clean up
 * on SIGTERM if you like, promptly.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { z } from 'zod';
import { MlcycleError } from '../errors';

export const PROTOCOL_PREFIX = 'MLCYCLE ';
export const DEFAULT_TAIL_LINES = 50;

const MetricMessage = z.object({
  type: z.literal('metric'),
  name: z.string().min(1),
  value: z.number().refine(Number.isFinite, 'must be finite'),
  epoch: z.number().int().nonnegative().optional(),
  total: z.number().int().positive().optional(),
});
const CheckpointMessage = z.object({
  type: z.literal('checkpoint'),
  epoch: z.number().int().nonnegative(),
  path: z.string().optional(),
});

export interface MetricEvent {
  name: string;
  value: number;
  epoch?: number;
  total?: number;
}

export interface CheckpointEvent {
  epoch: number;
  /** Absolute path of the checkpoint's folder. */
  dir: string;
}

export interface CommandTrainerOptions {
  /** The program and its arguments (not run through a shell). */
  command: readonly string[];
  cwd?: string;
  /** Added to (and overriding) the base environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** What the program starts from; default the worker's whole environment (workers pass a scrubbed one). */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  params?: Readonly<Record<string, number | string | boolean>>;
  /** Created if missing; becomes MLCYCLE_OUTPUT_DIR. */
  outputDir: string;
  /** Created if missing; becomes MLCYCLE_CHECKPOINT_DIR. */
  checkpointDir: string;
  /** Folder of the checkpoint to resume from; becomes MLCYCLE_RESUME_FROM. */
  resumeFrom?: string;
  /** Sets CUDA_VISIBLE_DEVICES. */
  gpuDevice?: number;
  /** Aborting it stops the program: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Lines of ordinary output kept for error messages (default 50). */
  tailLines?: number;
  onMetric?: (metric: MetricEvent) => void | Promise<void>;
  /** Awaited (one at a time, in order) before later callbacks run; the caller uploads `dir`. */
  onCheckpoint?: (checkpoint: CheckpointEvent) => void | Promise<void>;
  /** Every ordinary output line as it comes. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface CommandTrainerResult {
  /** The last value of each metric. */
  metrics: Record<string, number>;
  /** Highest epoch any message mentioned (0 if none). */
  lastEpoch: number;
  checkpoints: CheckpointEvent[];
  /** The last lines of ordinary output. */
  tail: string[];
}

/** `learningRate` → `MLCYCLE_PARAM_LEARNINGRATE`. */
export function paramEnvName(name: string): string {
  return `MLCYCLE_PARAM_${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/** Keeps the last `size` lines. */
class RingBuffer {
  private readonly lines: string[] = [];
  constructor(private readonly size: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  toArray(): string[] {
    return [...this.lines];
  }
}

type Message = { kind: 'metric'; event: MetricEvent } | { kind: 'checkpoint'; epoch: number; path?: string } | { kind: 'ignored' };

/** Parses one protocol line; undefined when the line is not a valid message. */
export function parseProtocolLine(line: string): Message | undefined {
  if (!line.startsWith(PROTOCOL_PREFIX)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(line.slice(PROTOCOL_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const type = (doc as { type?: unknown }).type;
  if (type === 'metric') {
    const m = MetricMessage.safeParse(doc);
    if (!m.success) return undefined;
    const event: MetricEvent = { name: m.data.name, value: m.data.value };
    if (m.data.epoch !== undefined) event.epoch = m.data.epoch;
    if (m.data.total !== undefined) event.total = m.data.total;
    return { kind: 'metric', event };
  }
  if (type === 'checkpoint') {
    const c = CheckpointMessage.safeParse(doc);
    if (!c.success) return undefined;
    return c.data.path === undefined ? { kind: 'checkpoint', epoch: c.data.epoch } : { kind: 'checkpoint', epoch: c.data.epoch, path: c.data.path };
  }
  return typeof type === 'string' ? { kind: 'ignored' } : undefined;
}

function formatTail(tail: string[]): string {
  return tail.length === 0 ? '(no output)' : tail.join('\n');
}

/** Runs the training program to completion; see the protocol at the top of this file. */
export async function runCommandTrainer(options: CommandTrainerOptions): Promise<CommandTrainerResult> {
  const [program, ...args] = options.command;
  if (program === undefined) throw new MlcycleError('SPEC_INVALID', 'train.command is empty');
  const signal = options.signal;
  signal?.throwIfAborted();

  const outputDir = path.resolve(options.outputDir);
  const checkpointDir = path.resolve(options.checkpointDir);
  await fs.mkdir(outputDir, { recursive: true });
  await fs.mkdir(checkpointDir, { recursive: true });
  const paramsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-params-'));
  const params = options.params ?? {};
  const paramsFile = path.join(paramsDir, 'params.json');
  await fs.writeFile(paramsFile, `${JSON.stringify(params, null, 2)}\n`);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...(options.baseEnv ?? process.env), ...options.env })) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(params)) env[paramEnvName(k)] = String(v);
  env.MLCYCLE_PARAMS_FILE = paramsFile;
  env.MLCYCLE_OUTPUT_DIR = outputDir;
  env.MLCYCLE_CHECKPOINT_DIR = checkpointDir;
  if (options.resumeFrom !== undefined) env.MLCYCLE_RESUME_FROM = path.resolve(options.resumeFrom);
  else delete env.MLCYCLE_RESUME_FROM;
  if (options.gpuDevice !== undefined) env.CUDA_VISIBLE_DEVICES = String(options.gpuDevice);

  const tail = new RingBuffer(options.tailLines ?? DEFAULT_TAIL_LINES);
  const metrics: Record<string, number> = {};
  const checkpoints: CheckpointEvent[] = [];
  let lastEpoch = 0;
  const commandText = options.command.join(' ');

  try {
    return await new Promise<CommandTrainerResult>((resolve, reject) => {
      // Its own process group, so cancellation also reaches whatever the program starts.
      const child = spawn(program, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });

      let failure: unknown; // set once: a callback error, the abort reason or a spawn error
      let killTimer: NodeJS.Timeout | undefined;
      const kill = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          child.kill(sig);
        }
      };
      const stop = (reason: unknown): void => {
        if (failure !== undefined) return;
        failure = reason;
        kill('SIGTERM');
        killTimer = setTimeout(() => kill('SIGKILL'), options.killGraceMs ?? 10_000);
        killTimer.unref();
      };
      const onAbort = (): void =>
        stop(signal?.reason instanceof Error ? signal.reason : new MlcycleError('TRAINING_FAILED', `training command cancelled: ${commandText}`));
      signal?.addEventListener('abort', onAbort, { once: true });

      // Callbacks run one at a time, in the order their lines arrived.
      let callbacks: Promise<void> = Promise.resolve();
      const enqueue = (fn: () => void | Promise<void>): void => {
        callbacks = callbacks.then(async () => {
          if (failure === undefined) await fn();
        }).catch((err: unknown) => stop(err));
      };

      const handleStdout = (line: string): void => {
        const msg = line.startsWith(PROTOCOL_PREFIX) ? parseProtocolLine(line) : undefined;
        if (msg === undefined) {
          tail.push(line);
          options.onOutput?.(line, 'stdout');
          return;
        }
        if (msg.kind === 'metric') {
          metrics[msg.event.name] = msg.event.value;
          if (msg.event.epoch !== undefined) lastEpoch = Math.max(lastEpoch, msg.event.epoch);
          const onMetric = options.onMetric;
          if (onMetric) enqueue(() => onMetric(msg.event));
        } else if (msg.kind === 'checkpoint') {
          const dir = path.resolve(checkpointDir, msg.path ?? '.');
          if (dir !== checkpointDir && !dir.startsWith(checkpointDir + path.sep)) {
            tail.push(line);
            tail.push(`(mlcycle: ignored checkpoint path ${JSON.stringify(msg.path)}: outside MLCYCLE_CHECKPOINT_DIR)`);
            return;
          }
          const event: CheckpointEvent = { epoch: msg.epoch, dir };
          checkpoints.push(event);
          lastEpoch = Math.max(lastEpoch, msg.epoch);
          const onCheckpoint = options.onCheckpoint;
          if (onCheckpoint) enqueue(() => onCheckpoint(event));
        }
      };

      const out = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
      const err = readline.createInterface({ input: child.stderr, crlfDelay: Infinity });
      out.on('line', handleStdout);
      err.on('line', (line) => {
        tail.push(line);
        options.onOutput?.(line, 'stderr');
      });

      child.on('error', (e) => {
        stop(new MlcycleError('TRAINING_FAILED', `cannot start training command "${program}": ${e.message}`, { cause: e }));
      });
      child.on('close', (code, sig) => {
        if (killTimer) clearTimeout(killTimer);
        signal?.removeEventListener('abort', onAbort);
        // Let callbacks for the last lines finish (or fail) before deciding.
        void callbacks.then(() => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an Error, or the abort signal's reason passed on as it came
          if (failure !== undefined) return reject(failure);
          if (code === 0) return resolve({ metrics, lastEpoch, checkpoints, tail: tail.toArray() });
          const how = code !== null ? `exited with status ${code}` : `was killed by ${sig ?? 'a signal'}`;
          reject(new MlcycleError('TRAINING_FAILED', `training command ${how}: ${commandText}\nlast output:\n${formatTail(tail.toArray())}`));
        });
      });
    });
  } finally {
    await fs.rm(paramsDir, { recursive: true, force: true });
  }
}
