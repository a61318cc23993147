/**
 * Orchestration overhead per step: mlcycle's step machinery (StepRunner, stage search attribute,
 * `status` query, activity summaries) versus a bare Temporal workflow running the same no-op
 * activities on the same dev server, with the same worker. Target: mlcycle/bare ≤ 1.2× (medians).
 *
 *   npx tsx bench/orchestration-overhead.ts [--steps 20] [--runs 15] [--warmup 3] [--variants all]
 *                                           [--state-dir /dev/shm] [--untuned] [--server-arg ARG]...
 *
 * --state-dir is where the dev server's SQLite file goes (default: the OS temp folder, a real disk
 * like `mlcycle dev`'s state folder); /dev/shm takes fsync latency out and so makes the per-step
 * baseline smaller and any mlcycle overhead relatively larger.
 *
 * --untuned starts the stock dev server (without src/stack/dev-server-tuning.ts); --server-arg
 * passes one more `temporal server start-dev` argument (repeatable), e.g.
 * `--server-arg=--dynamic-config-value --server-arg=matching.numTaskqueueReadPartitions=1`.
 *
 * Runs are interleaved (the order rotates every round) so machine noise hits every variant alike.
 * Two measures per variant:
 *   - wall ms/step: client start → result, divided by the step count (one value per run);
 *   - step ms: from the server's history timestamps, ActivityTaskScheduled of step i → the next
 *     ActivityTaskScheduled (or WorkflowExecutionCompleted after the last), one value per step,
 *     split into phases (activity dispatch, activity run, workflow-task wait, workflow-task run).
 * Prints a table and a final JSON line. Exits non-zero only on errors, never on a missed target.
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, type WorkflowStartOptions } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { withBenchDevServer } from './bench-dev-server';
import { parseEnv } from '../src/config/env';
import { KIND, MODEL, STAGE } from '../workflows/search-attributes';
import * as activities from './orchestration/activities';
import { quietLogger } from '../src/worker/workflow-bundle';
import { BENCH_TASK_QUEUE, stepNames } from './orchestration/shared';
import { runBench } from './bench-services';

const TARGET_RATIO = 1.2;

interface Variant {
  name: string;
  workflow: string;
  /** Start the way mlcycle's client starts a pipeline: search attributes and a static summary. */
  mlcycleStart: boolean;
}

const MAIN_VARIANTS: Variant[] = [
  { name: 'bare', workflow: 'bareNoopWorkflow', mlcycleStart: false },
  { name: 'mlcycle', workflow: 'mlcycleNoopWorkflow', mlcycleStart: true },
];
const DIAGNOSTIC_VARIANTS: Variant[] = [
  { name: 'bare+summary', workflow: 'summaryNoopWorkflow', mlcycleStart: false },
  { name: 'bare+upsert', workflow: 'upsertNoopWorkflow', mlcycleStart: false },
  { name: 'mlcycle-no-upsert', workflow: 'mlcycleNoUpsertNoopWorkflow', mlcycleStart: true },
];

/** Per-step phase times from history timestamps (ms). */
interface StepTiming {
  total: number;
  dispatch: number; // ActivityTaskScheduled → ActivityTaskStarted
  activity: number; // ActivityTaskStarted → ActivityTaskCompleted
  wftWait: number; // ActivityTaskCompleted → WorkflowTaskStarted
  wftRun: number; // WorkflowTaskStarted → WorkflowTaskCompleted
  after: number; // WorkflowTaskCompleted → next ActivityTaskScheduled / WorkflowExecutionCompleted
}
const PHASES = ['dispatch', 'activity', 'wftWait', 'wftRun', 'after'] as const;

interface RunResult {
  wallMs: number;
  steps: StepTiming[];
  /** WorkflowExecutionStarted → first ActivityTaskScheduled. */
  startupMs: number;
  events: number;
}

function usage(): string {
  return 'usage: npx tsx bench/orchestration-overhead.ts [--steps 20] [--runs 15] [--warmup 3] [--variants main|all] [--state-dir DIR]';
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${value})\n${usage()}`);
  return n;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/** Splits a finished run's history into per-step timings. */
function stepTimings(events: HistoryEvent[]): { steps: StepTiming[]; startupMs: number } {
  // Sub-millisecond: the SDK's tsToMs truncates to whole milliseconds.
  const at = (e: HistoryEvent) => {
    const ts = e.eventTime;
    if (!ts) throw new Error('history event without eventTime');
    const secs = ts.seconds ?? 0;
    return (typeof secs === 'number' ? secs : secs.toNumber()) * 1000 + (ts.nanos ?? 0) / 1e6;
  };
  interface OpenStep {
    scheduled: number;
    started?: number;
    completed?: number;
    wftStarted?: number;
    wftCompleted?: number;
  }
  const open: OpenStep[] = [];
  const steps: StepTiming[] = [];
  let workflowStarted: number | undefined;
  let firstScheduled: number | undefined;
  const close = (end: number) => {
    const s = open.pop();
    if (!s) return;
    const started = s.started ?? s.scheduled;
    const completed = s.completed ?? started;
    const wftStarted = s.wftStarted ?? completed;
    const wftCompleted = s.wftCompleted ?? wftStarted;
    steps.push({
      total: end - s.scheduled,
      dispatch: started - s.scheduled,
      activity: completed - started,
      wftWait: wftStarted - completed,
      wftRun: wftCompleted - wftStarted,
      after: end - wftCompleted,
    });
  };
  for (const e of events) {
    const t = at(e);
    const cur = open[open.length - 1];
    if (e.workflowExecutionStartedEventAttributes) workflowStarted = t;
    else if (e.activityTaskScheduledEventAttributes) {
      close(t);
      firstScheduled ??= t;
      open.push({ scheduled: t });
    } else if (e.activityTaskStartedEventAttributes && cur) cur.started = t;
    else if (e.activityTaskCompletedEventAttributes && cur) cur.completed = t;
    else if (e.workflowTaskStartedEventAttributes && cur?.completed !== undefined && cur.wftStarted === undefined) cur.wftStarted = t;
    else if (e.workflowTaskCompletedEventAttributes && cur?.wftStarted !== undefined && cur.wftCompleted === undefined) cur.wftCompleted = t;
    else if (e.workflowExecutionCompletedEventAttributes) close(t);
  }
  return { steps, startupMs: firstScheduled !== undefined && workflowStarted !== undefined ? firstScheduled - workflowStarted : NaN };
}

async function runOnce(client: Client, variant: Variant, n: number, id: string): Promise<RunResult> {
  const opts: WorkflowStartOptions = {
    taskQueue: BENCH_TASK_QUEUE,
    workflowId: id,
    args: [n],
    ...(variant.mlcycleStart
      ? {
          typedSearchAttributes: [
            { key: MODEL, value: 'bench' },
            { key: KIND, value: 'training-pipeline' },
            { key: STAGE, value: stepNames(n)[0]! },
          ],
          staticSummary: `Benchmark ${n} no-op steps`,
        }
      : {}),
  };
  const t0 = performance.now();
  const handle = await client.workflow.start(variant.workflow, opts);
  const attempts = await handle.result();
  const wallMs = performance.now() - t0;
  if (attempts !== n) throw new Error(`${variant.name}: expected ${n} first-attempt steps, got attempt sum ${attempts}`);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const { steps, startupMs } = stepTimings(events);
  if (steps.length !== n) throw new Error(`${variant.name}: found ${steps.length} steps in history, expected ${n}`);
  return { wallMs, steps, startupMs, events: events.length };
}

function summarize(results: RunResult[], n: number) {
  const wallPerStep = results.map((r) => r.wallMs / n);
  const steps = results.flatMap((r) => r.steps);
  const totals = steps.map((s) => s.total);
  return {
    runs: results.length,
    wallMsPerStep: { p50: round(percentile(wallPerStep, 50)), p95: round(percentile(wallPerStep, 95)) },
    stepMs: { p50: round(percentile(totals, 50)), p95: round(percentile(totals, 95)), mean: round(totals.reduce((a, b) => a + b, 0) / totals.length) },
    phaseMsP50: Object.fromEntries(PHASES.map((p) => [p, round(percentile(steps.map((s) => s[p]), 50))])),
    phaseMsMean: Object.fromEntries(PHASES.map((p) => [p, round(steps.reduce((a, s) => a + s[p], 0) / steps.length)])),
    startupMsP50: round(percentile(results.map((r) => r.startupMs), 50)),
    eventsPerRun: results[0]?.events ?? 0,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      variants: { type: 'string' },
      'state-dir': { type: 'string' },
      untuned: { type: 'boolean' },
      'server-arg': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage());
    return;
  }
  const n = positiveInt(values.steps, 'steps', 20);
  const runs = positiveInt(values.runs, 'runs', 15);
  const warmup = values.warmup === '0' ? 0 : positiveInt(values.warmup, 'warmup', 3);
  const which = values.variants ?? 'main';
  if (which !== 'main' && which !== 'all') throw new Error(`--variants must be main or all\n${usage()}`);
  const variants = which === 'all' ? [...MAIN_VARIANTS, ...DIAGNOSTIC_VARIANTS] : MAIN_VARIANTS;
  const log = (l: string) => process.stderr.write(`${l}\n`);

  // start-dev registers mlcycle's search attributes (MlcycleStage etc.).
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' });
  await withBenchDevServer({ stateDir: values['state-dir'] ?? os.tmpdir(), dirPrefix: 'mlcycle-bench-orch-', namespace: env.TEMPORAL_NAMESPACE, log, tuned: !values.untuned, extraArgs: values['server-arg'] }, async ({ server, nativeConnection, connection, dir }) => {
    const namespace = server.namespace;
    const t1 = performance.now();
    const { code } = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'orchestration', 'workflows.ts'), logger: quietLogger });
    log(`bundled workflows in ${Math.round(performance.now() - t1)} ms`);

    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue: BENCH_TASK_QUEUE,
      workflowBundle: { code },
      activities,
    });
    const client = new Client({ connection, namespace });

    const results = new Map<string, RunResult[]>(variants.map((v) => [v.name, []]));
    await worker.runUntil(async () => {
      const stamp = Date.now().toString(36);
      for (let w = 0; w < warmup; w++) {
        for (const v of variants) await runOnce(client, v, n, `bench-warmup-${v.name}-${w}-${stamp}`);
      }
      // The `status` query must answer as it does for a real pipeline.
      const checkId = `bench-query-check-${stamp}`;
      await runOnce(client, MAIN_VARIANTS[1]!, n, checkId);
      const progress = await client.workflow.getHandle(checkId).query<{ stage: string; steps: { state: string }[] }>('status');
      if (progress.stage !== 'done' || progress.steps.length !== n || progress.steps.some((s) => s.state !== 'completed')) {
        throw new Error(`status query returned an unexpected step table: ${JSON.stringify(progress).slice(0, 300)}`);
      }
      log(`warmed up (${warmup} × ${variants.length} runs); measuring ${runs} rounds of ${n} steps, interleaved`);

      for (let r = 0; r < runs; r++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(r + k) % variants.length]!;
          results.get(v.name)!.push(await runOnce(client, v, n, `bench-${v.name}-${r}-${stamp}`));
        }
        if ((r + 1) % 5 === 0 || r + 1 === runs) log(`  round ${r + 1}/${runs}`);
      }
    });

    const summary = Object.fromEntries(variants.map((v) => [v.name, summarize(results.get(v.name)!, n)]));
    const bare = summary.bare!;
    const ml = summary.mlcycle!;
    const ratio = {
      wallP50: round(ml.wallMsPerStep.p50 / bare.wallMsPerStep.p50, 3),
      stepP50: round(ml.stepMs.p50 / bare.stepMs.p50, 3),
      stepP95: round(ml.stepMs.p95 / bare.stepMs.p95, 3),
    };
    const withinTarget = ratio.wallP50 <= TARGET_RATIO && ratio.stepP50 <= TARGET_RATIO;

    const pad = (s: string | number, w: number) => String(s).padStart(w);
    const lines = [
      '',
      `orchestration overhead: ${n} no-op steps × ${runs} runs per variant (interleaved), ${os.cpus().length} CPUs, node ${process.version}, db in ${path.dirname(dir)}`,
      `${'variant'.padEnd(18)}${pad('wall ms/step', 14)}${pad('', 8)}${pad('step ms', 10)}${pad('', 8)}${pad('start', 8)}${pad('events', 8)}   phase means ms (dispatch/activity/wftWait/wftRun/after)`,
      `${''.padEnd(18)}${pad('p50', 14)}${pad('p95', 8)}${pad('p50', 10)}${pad('p95', 8)}${pad('p50', 8)}${pad('/run', 8)}`,
      ...variants.map((v) => {
        const s = summary[v.name]!;
        const ph = PHASES.map((p) => s.phaseMsMean[p]!.toFixed(2)).join(' / ');
        return `${v.name.padEnd(18)}${pad(s.wallMsPerStep.p50.toFixed(2), 14)}${pad(s.wallMsPerStep.p95.toFixed(2), 8)}${pad(s.stepMs.p50.toFixed(2), 10)}${pad(s.stepMs.p95.toFixed(2), 8)}${pad(s.startupMsP50.toFixed(1), 8)}${pad(s.eventsPerRun, 8)}   ${ph}`;
      }),
      '',
      `mlcycle/bare: wall ms/step p50 ${ratio.wallP50}×, step p50 ${ratio.stepP50}×, step p95 ${ratio.stepP95}× — target ≤ ${TARGET_RATIO}×: ${withinTarget ? 'MET' : 'MISSED'}`,
    ];
    console.log(lines.join('\n'));
    console.log(
      JSON.stringify({
        bench: 'orchestration-overhead',
        steps: n,
        runs,
        warmup,
        stateDir: path.dirname(dir),
        cpus: os.cpus().length,
        node: process.version,
        target: TARGET_RATIO,
        ratio,
        withinTarget,
        variants: summary,
      }),
    );
  });
}


runBench(main);
