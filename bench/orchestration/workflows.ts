/**
 * Benchmark workflows: the same n sequential no-op activities, once through a bare Temporal
 * workflow and once through mlcycle's per-step machinery exactly as workflows/training-pipeline.ts
 * uses it (StepRunner, `status` query, executeWithOptions with a summary). The extra variants
 * (`--variants all`) take the mlcycle machinery apart to show where any overhead comes from.
 */
import { defineQuery, proxyActivities, setHandler, upsertSearchAttributes, type ActivityOptions } from '@temporalio/workflow';
import type { PipelineProgress } from '../../workflows/pipeline-types';
import { STAGE } from '../../workflows/search-attributes';
import { StepRunner } from '../../workflows/step-runner';
import { StepTracker } from '../../workflows/step-tracker';
import type * as activities from './activities';
import { BENCH_TASK_QUEUE, stepNames } from './shared';

export const statusQuery = defineQuery<PipelineProgress>('status');

/** The same options for every variant; shaped like the pipeline's cpuOptions. */
const options: ActivityOptions = {
  taskQueue: BENCH_TASK_QUEUE,
  startToCloseTimeout: '1m',
  heartbeatTimeout: '2m',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2 },
};
const acts = proxyActivities<typeof activities>(options);

/** Baseline: a plain proxyActivities loop. */
export async function bareNoopWorkflow(n: number): Promise<number> {
  let attempts = 0;
  for (let i = 0; i < n; i++) attempts += (await acts.noop(i)).attempt;
  return attempts;
}

/** The same steps through mlcycle's machinery, as trainingPipeline runs its stages. */
export async function mlcycleNoopWorkflow(n: number): Promise<number> {
  const runner = new StepRunner(stepNames(n));
  const steps = runner.tracker;
  const artifacts: Record<string, string> = {};
  setHandler(statusQuery, (): PipelineProgress => ({ stage: steps.currentStage(), steps: steps.steps, artifacts }));
  let attempts = 0;
  for (const [i, name] of stepNames(n).entries()) {
    const r = await runner.run(
      name,
      () => acts.noop.executeWithOptions({ ...options, summary: `noop ${name}` }, [i]),
      (res) => `attempt ${res.attempt}, ${res.cached ? 'cached' : 'fresh'}`,
    );
    attempts += r.attempt;
  }
  runner.finish();
  return attempts;
}

// ---- diagnostic variants (only with --variants all) ----

/** Bare loop plus an activity summary (executeWithOptions): the cost of user metadata alone. */
export async function summaryNoopWorkflow(n: number): Promise<number> {
  let attempts = 0;
  for (const [i, name] of stepNames(n).entries()) {
    attempts += (await acts.noop.executeWithOptions({ ...options, summary: `noop ${name}` }, [i])).attempt;
  }
  return attempts;
}

/** Bare loop plus the per-step stage upsert: the cost of the search attribute alone. */
export async function upsertNoopWorkflow(n: number): Promise<number> {
  let attempts = 0;
  for (const [i, name] of stepNames(n).entries()) {
    upsertSearchAttributes([{ key: STAGE, value: name }]);
    attempts += (await acts.noop(i)).attempt;
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return attempts;
}

/** Everything mlcycle does (step table, query, summaries) except the per-step stage upsert. */
export async function mlcycleNoUpsertNoopWorkflow(n: number): Promise<number> {
  const steps = new StepTracker(stepNames(n));
  const artifacts: Record<string, string> = {};
  setHandler(statusQuery, (): PipelineProgress => ({ stage: steps.currentStage(), steps: steps.steps, artifacts }));
  let attempts = 0;
  for (const [i, name] of stepNames(n).entries()) {
    steps.set(name, 'running');
    const r = await acts.noop.executeWithOptions({ ...options, summary: `noop ${name}` }, [i]);
    steps.set(name, 'completed', { attempts: r.attempt, cached: r.cached, summary: `attempt ${r.attempt}, ${r.cached ? 'cached' : 'fresh'}` });
    attempts += r.attempt;
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return attempts;
}

// ---- bench/peers ----

/** Bare Temporal fan-out: n tasks of `workMs`, at most `concurrency` at once. */
export async function bareFanoutWorkflow(n: number, concurrency: number, workMs: number): Promise<number> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        await acts.work(workMs);
        done++;
      }
    }),
  );
  return done;
}

/**
 * The kill -9 comparison's chain: n steps through mlcycle's StepRunner, each `stepMs` long and
 * marking a file. A short start-to-close timeout so the step that was running when its worker
 * died is retried within seconds (mlcycle's real steps heartbeat and are retried the same way).
 */
export async function durableChainWorkflow(n: number, stepMs: number, marks: string): Promise<number> {
  const stepOptions: ActivityOptions = { ...options, startToCloseTimeout: '5s' };
  const runner = new StepRunner(stepNames(n));
  let attempts = 0;
  for (const [i, name] of stepNames(n).entries()) {
    const r = await runner.run(name, () => acts.markedStep.executeWithOptions({ ...stepOptions, summary: `step ${name}` }, [i, stepMs, marks]), (res) => `attempt ${res.attempt}`);
    attempts += r.attempt;
  }
  runner.finish();
  return attempts;
}
