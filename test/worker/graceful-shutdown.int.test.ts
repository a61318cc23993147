import fs from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { until } from '../helpers/until';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-processes';

/**
 * `mlcycle worker --shutdown-grace`: on SIGTERM a worker stops taking tasks, lets what it runs
 * finish, and exits 0; what outlives the grace time is cancelled and retried on another worker.
 * Real `mlcycle worker` processes own the gpu queue; the training step is a command trainer that
 * holds until the test creates its release file, so "in flight" is the test's to decide.
 */

/**
 * Notes each start in `<release>.starts` (one line per attempt), then waits for `<release>` to
 * exist. With the param ignoreTerm it ignores SIGTERM, as a trainer saving state on it might.
 */
const HOLD_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const release = process.env.MLCYCLE_PARAM_RELEASE;
fs.appendFileSync(release + '.starts', process.pid + '\\n');
if (process.env.MLCYCLE_PARAM_IGNORETERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
const timer = setInterval(() => {
  if (!fs.existsSync(release)) return;
  clearInterval(timer);
  const schema = JSON.parse(fs.readFileSync(process.env.MLCYCLE_SCHEMA_FILE, 'utf8'));
  fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'predictions.json'),
    JSON.stringify({ format: 'mlcycle-predictions/v1', task: schema.task, predictions: new Array(schema.rows.test).fill(0.7) }));
  fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'model.json'), '{}');
  console.log('released');
}, 100);
`;

const { PendingActivityState } = temporal.api.enums.v1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The SDK's default worker identity is `<pid>@<host>`. */
const identityOf = (w: WorkerProcess) => new RegExp(`^${w.pid}@`);

describe('worker graceful shutdown (--shutdown-grace)', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  const procs: WorkerProcess[] = [];
  // Started after the first worker has gone, so nothing else could take the task it must not take.
  let spares: Promise<WorkerProcess[]> | undefined;

  const graceMs = new Map<WorkerProcess, number>();

  async function gpuWorker(grace: '1s' | '3s' | '30s'): Promise<WorkerProcess> {
    const w = await startWorkerProcess('gpu', env.cliEnv, { args: ['--shutdown-grace', grace, '--concurrency', '2'] });
    procs.push(w);
    graceMs.set(w, Number.parseInt(grace, 10) * 1000);
    return w;
  }

  /** A pipeline whose training (gpu queue) holds until `<ws>/<name>.release` exists. */
  async function startHeldRun(name: string, opts: { ignoreTerm?: boolean } = {}): Promise<{ workflowId: string; release: string }> {
    const release = path.join(ws.dir, `${name}.release`);
    const spec = await ws.spec(`${name}.yaml`, (d) => {
      d.name = name;
      d.train = { trainer: 'command', command: ['node', 'hold.js'], params: { release, ...(opts.ignoreTerm ? { ignoreTerm: 'yes' } : {}) }, resources: { queue: 'gpu' }, maxAttempts: 3 };
      d.evaluate = { metrics: ['auc'] };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    return { workflowId, release };
  }

  async function pendingTrain(workflowId: string) {
    const d = await env.client.temporal.workflow.getHandle(workflowId).describe();
    return d.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
  }

  async function trainStarted(workflowId: string, attempt: number) {
    return until(`${workflowId}: training attempt ${attempt} started`, async () => {
      const a = await pendingTrain(workflowId);
      return a?.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED && a.attempt === attempt ? a : undefined;
    });
  }

  /** The training step as the history records it: the attempt that ended it, who ran it, how it ended. */
  async function trainInHistory(workflowId: string) {
    const events = (await env.client.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel');
    const id = scheduled?.eventId?.toString();
    const started = events.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === id);
    const completed = events.find((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === id);
    return {
      attempt: started?.activityTaskStartedEventAttributes?.attempt,
      identity: started?.activityTaskStartedEventAttributes?.identity ?? '',
      lastFailure: started?.activityTaskStartedEventAttributes?.lastFailure?.message ?? '',
      completedAt: completed?.eventTime ? Number(completed.eventTime.seconds) * 1000 + Math.floor((completed.eventTime.nanos ?? 0) / 1e6) : undefined,
      failed: events.some((e) => e.activityTaskFailedEventAttributes?.scheduledEventId?.toString() === id),
    };
  }

  const starts = async (release: string) => (await fs.readFile(`${release}.starts`, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    // Workflows and the other steps on an in-process cpu worker; the gpu queue is the processes'.
    env = await startTestEnv({ queues: ['cpu'] });
    ws = await SpecWorkspace.create({ rows: 600 });
    await ws.writeFile('hold.js', HOLD_SCRIPT);
  });

  afterAll(async () => {
    for (const p of [...procs, ...((await spares?.catch(() => [])) ?? [])]) if (p.alive()) p.child.kill('SIGKILL');
    await env?.close();
    await ws?.remove();
  });

  it('drains: the running step finishes and is recorded once, nothing new is taken, exit 0 within the grace time', async () => {
    const a = await gpuWorker('30s');
    const held = await startHeldRun('drain-held');
    const inFlight = await trainStarted(held.workflowId, 1);
    expect(inFlight.lastWorkerIdentity).toMatch(identityOf(a));

    const signalledAt = Date.now();
    process.kill(a.pid, 'SIGTERM');
    // A step that becomes ready after the signal: `a` has a free slot (concurrency 2) but must not take it.
    const later = await startHeldRun('drain-later');
    await fs.writeFile(later.release, '');
    await until('the later run to reach training', async () => (await pendingTrain(later.workflowId))?.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);
    await sleep(3000);
    expect((await pendingTrain(later.workflowId))?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);
    expect(a.alive(), 'the worker waits for its running step').toBe(true);

    await fs.writeFile(held.release, '');
    const exit = await a.exited;
    const exitedAfterMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(30_000);
    expect(a.tail(40)).toMatch(/draining in-flight activities[\s\S]*worker stopped/);

    // The held step's result is the one the run used: attempt 1 on `a`, completed after the signal, no retry.
    const done = await env.client.waitForRun(held.workflowId);
    expect([done.status, done.error]).toEqual(['completed', undefined]);
    const train = await trainInHistory(held.workflowId);
    expect(train).toMatchObject({ attempt: 1, failed: false, lastFailure: '' });
    expect(train.identity).toMatch(identityOf(a));
    expect(train.completedAt).toBeGreaterThan(signalledAt);
    expect(await starts(held.release)).toHaveLength(1);
    expect(done.steps.find((s) => s.name === 'train')?.attempts).toBe(1);

    // The later step waited for a worker that was not shutting down.
    spares = Promise.all([gpuWorker('3s'), gpuWorker('3s')]);
    const others = await spares;
    const laterDone = await env.client.waitForRun(later.workflowId);
    expect([laterDone.status, laterDone.error]).toEqual(['completed', undefined]);
    const laterTrain = await trainInHistory(later.workflowId);
    expect(laterTrain.identity).not.toMatch(identityOf(a));
    expect(others.some((w) => identityOf(w).test(laterTrain.identity))).toBe(true);
  }, 90_000);

  /**
   * Waits for the run's first training attempt on one of `candidates`, SIGTERMs that worker and
   * waits for it to exit: who held the step, how the worker ended and how long after the signal.
   */
  async function terminateHolder(run: { workflowId: string; release: string }, candidates: WorkerProcess[]) {
    // The program itself running, not only the server's "started": under load a dispatch the
    // server records can still be on its way to the worker, which then has nothing to drain.
    await until(`${run.workflowId}: the held program to start`, async () => (await starts(run.release)).length > 0);
    const first = await trainStarted(run.workflowId, 1);
    const holder = candidates.find((w) => identityOf(w).test(first.lastWorkerIdentity ?? ''));
    if (!holder) throw new Error(`attempt 1 held by ${first.lastWorkerIdentity}, none of ${candidates.map((w) => w.pid).join(', ')}`);
    const signalledAt = Date.now();
    process.kill(holder.pid, 'SIGTERM');
    const exit = await holder.exited;
    const exitedAfterMs = Date.now() - signalledAt;
    const grace = graceMs.get(holder)!;
    // What the worker said, for a failure's report.
    if (exitedAfterMs < grace) console.error(`worker ${holder.pid} exited ${exitedAfterMs} ms after SIGTERM:\n${holder.tail(40)}`);
    return { holder, grace, exit, exitedAfterMs };
  }

  /** The first attempt's program is gone, attempt 2 runs elsewhere and, released, completes the run. */
  async function retriedElsewhere(run: { workflowId: string; release: string }, holder: WorkerProcess) {
    const [firstPid] = await starts(run.release);
    expect(() => process.kill(Number(firstPid), 0), "the first attempt's program was stopped").toThrow();
    const retry = await trainStarted(run.workflowId, 2);
    expect(retry.lastWorkerIdentity).not.toMatch(identityOf(holder));
    await fs.writeFile(run.release, '');
    const done = await env.client.waitForRun(run.workflowId);
    expect([done.status, done.error]).toEqual(['completed', undefined]);
    const train = await trainInHistory(run.workflowId);
    expect(train).toMatchObject({ attempt: 2, failed: false, identity: retry.lastWorkerIdentity });
    expect(train.lastFailure).not.toBe('');
    expect(await starts(run.release)).toHaveLength(2);
  }

  it('a step that outlives --shutdown-grace is cancelled, the worker exits within the grace time, the step is retried on another worker', async () => {
    // The first case's spare workers (3 s grace); started here when that case failed before it started them.
    spares ??= Promise.all([gpuWorker('3s'), gpuWorker('3s')]);
    const run = await startHeldRun('grace-exceeded');
    const { holder, exit, exitedAfterMs } = await terminateHolder(run, await spares);
    expect(exit).toEqual({ code: 0, signal: null });
    // 3 s of grace, then the program is stopped and the cancellation reported: a few seconds more at most.
    expect(exitedAfterMs).toBeGreaterThanOrEqual(3000);
    expect(exitedAfterMs).toBeLessThan(3000 + 5000);
    await retriedElsewhere(run, holder);
  }, 90_000);

  it('a cancelled program that ignores SIGTERM is killed before its worker exits (nothing left running), and the step is retried elsewhere', async () => {
    await gpuWorker('1s'); // a second worker beside the one the last case left
    const run = await startHeldRun('ignores-term', { ignoreTerm: true });
    const { holder, grace, exit, exitedAfterMs } = await terminateHolder(run, procs.filter((p) => p.alive()));
    // Cancelled at the grace time, SIGTERM ignored, SIGKILL 10 s later; the worker waits for that
    // and still counts it a drain (its own bound is grace + 15 s, then status 1).
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeGreaterThanOrEqual(grace + 10_000);
    expect(exitedAfterMs).toBeLessThan(grace + 15_000);
    await retriedElsewhere(run, holder);
  }, 90_000);
});
