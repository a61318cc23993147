import path from 'node:path';
import { TEST_DATA_ROOTS } from './test-permissions';
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './cli';

export type QueueName = 'cpu' | 'gpu';

/**
 * `mlcycle worker` as a real child process, so a fault test can SIGSTOP and SIGKILL it: an
 * in-process worker cannot die without taking the test with it.
 */
export interface WorkerProcess {
  readonly queue: QueueName;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the process exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  tail(lines?: number): string;
}

/**
 * The environment a worker child gets. spawnCli already inherits process.env, which is what carries
 * any MLCYCLE_CODEC_* settings (payload encryption) through to the children; it is spelled out here
 * so that inheritance is not lost to a later change of spawnCli.
 */
export function workerEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const codec = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MLCYCLE_CODEC_')));
  // The suite's specs and fixtures live in the temp folder and the repository; its command trainers run node.
  const permissions = { MLCYCLE_DATA_ROOTS: TEST_DATA_ROOTS.join(path.delimiter), MLCYCLE_ALLOWED_COMMANDS: 'node' };
  return { ...codec, ...permissions, ...base };
}

/** `args`: more `mlcycle worker` flags (`--shutdown-grace 3s`, `--concurrency 2`). */
export async function startWorkerProcess(queue: QueueName, env: NodeJS.ProcessEnv, opts: { readyTimeoutMs?: number; args?: string[] } = {}): Promise<WorkerProcess> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const child = spawnCli(['worker', '--queue', queue, ...(opts.args ?? [])], workerEnv(env));
  if (child.pid === undefined) throw new Error(`worker --queue ${queue} did not start`);
  const recent: string[] = [];
  let partial = '';
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
  });
  let onLine: ((line: string) => void) | undefined;
  const keep = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 60) recent.shift();
      onLine?.(line);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const proc: WorkerProcess = {
    queue,
    pid: child.pid,
    child,
    exited,
    alive: () => !exitedFlag,
    tail: (n = 20) => recent.slice(-n).join('\n'),
  };
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker --queue ${queue} not ready after ${readyTimeoutMs} ms:\n${proc.tail()}`)), readyTimeoutMs);
    onLine = (line) => {
      if (/worker ready/.test(line)) {
        clearTimeout(timer);
        onLine = undefined;
        resolve();
      }
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker --queue ${queue} exited (${signal ?? code}) before it was ready:\n${proc.tail()}`));
    });
  });
  try {
    await ready;
  } catch (err) {
    if (!exitedFlag) child.kill('SIGKILL');
    throw err;
  }
  return proc;
}

/**
 * The workers of one task-queue prefix. Faults are applied to all of them at once: a test that
 * kills only the cpu worker would leave the gpu worker holding the very activity it wants killed.
 */
export class WorkerGroup {
  private procs: WorkerProcess[] = [];
  /** Bumped by start, kill and stop, so a replacement started before one of them is not kept. */
  private generation = 0;
  private reviving: Promise<number> | undefined;
  /** Every process this group ever started, for cleanup and the restart count. */
  readonly started: WorkerProcess[] = [];

  constructor(
    readonly queues: readonly QueueName[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get processes(): readonly WorkerProcess[] {
    return this.procs;
  }

  async start(): Promise<void> {
    this.generation++;
    const fresh = await Promise.all(this.queues.map((q) => startWorkerProcess(q, this.env)));
    this.procs = fresh;
    this.started.push(...fresh);
  }

  /** Freezes every worker where it stands: nothing it has not sent yet reaches the server. */
  freeze(): void {
    for (const p of this.procs) signal(p, 'SIGSTOP');
  }

  /** SIGKILL (frozen or not) and wait until every process is gone. */
  async kill(): Promise<void> {
    // Out of the group before the signal: a concurrent deadOnTheirOwn() must not count these.
    const victims = this.procs;
    this.procs = [];
    this.generation++;
    for (const p of victims) signal(p, 'SIGKILL');
    await Promise.all(victims.map((p) => p.exited));
  }

  /** Workers that died on their own (not by this group's kill). */
  deadOnTheirOwn(): WorkerProcess[] {
    return this.procs.filter((p) => !p.alive());
  }

  /** Replaces the workers that died on their own; concurrent callers share one replacement. */
  restartDead(): Promise<number> {
    this.reviving ??= (async () => {
      const dead = this.deadOnTheirOwn();
      if (dead.length === 0) return 0;
      const generation = this.generation;
      const fresh = await Promise.all(dead.map((p) => startWorkerProcess(p.queue, this.env)));
      this.started.push(...fresh);
      if (generation !== this.generation) {
        // Killed or restarted as a whole meanwhile: those workers are already replaced.
        for (const p of fresh) signal(p, 'SIGKILL');
        return 0;
      }
      this.procs = [...this.procs.filter((p) => p.alive()), ...fresh];
      return fresh.length;
    })().finally(() => (this.reviving = undefined));
    return this.reviving;
  }

  /** Graceful stop for the end of a test; SIGKILL whatever does not go within the grace time. */
  async stop(graceMs = 25_000): Promise<void> {
    this.procs = [];
    this.generation++;
    const all = this.started.filter((p) => p.alive());
    for (const p of all) {
      signal(p, 'SIGCONT');
      signal(p, 'SIGTERM');
    }
    await Promise.all(
      all.map(async (p) => {
        const timer = setTimeout(() => signal(p, 'SIGKILL'), graceMs);
        await p.exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** A signal to a process that may have exited a moment ago (ESRCH is not an error here). */
function signal(p: WorkerProcess, sig: NodeJS.Signals): void {
  if (!p.alive()) return;
  try {
    process.kill(p.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
