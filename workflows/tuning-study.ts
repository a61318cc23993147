import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { refuseUndecodableInput } from './input-guard';
import type { Activities } from '../activities';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { ashaRungs, best, createStrategy, type StrategyState, type TrialParams, type TrialRecord } from '../src/tuning/strategies';
import type { BuiltinTrainerName } from '../src/training/trainer-contract';
import type { TuneSpec } from '../src/tuning/tune-spec';
import type { DatasetRef, TrialSegmentResult } from './pipeline-types';
import { STAGE } from './search-attributes';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors';

/**
 * Trials per study run before it continues as new. A run drains its running trials before it
 * continues (a continued run cannot inherit them), so every boundary leaves slots idle for up to
 * one trial's time: 100 cost 2 of 14 s on 200 × 1 s trials at concurrency 16 (bench/tuning-fanout.ts).
 * 500 trials make ~3,000 history events, well below the server's 10k-event warning.
 */
export const DEFAULT_MAX_TRIALS_PER_RUN = 500;

export interface StudyInput {
  name: string;
  tune: TuneSpec;
  data: PipelineSpec['data'];
  trainer: BuiltinTrainerName;
  baseParams: Record<string, number | string | boolean>;
  seed: number;
  /** The dataset version to tune on; without it the study ingests `source` itself. */
  dataset?: DatasetRef;
  source?: string;
  queues: { cpu: string; gpu: string };
  trainQueue: 'cpu' | 'gpu';
  codeVersion: string;
  cache: boolean;
  /** Trials started per workflow run before continuing as new (keeps each history small). */
  maxTrialsPerRun: number;
  carried?: { trials: TrialRecord[]; strategy: StrategyState; dataset: DatasetRef; runs: number; trainParams: Record<number, TrialParams> };
}

export interface StudyResult {
  studyId: string;
  trials: Array<{ id: number; params: TrialParams; metric: number | null; state: TrialRecord['state'] }>;
  best: { trialId: number; params: TrialParams; metric: number; trainParams: TrialParams } | null;
  leaderboard: { jsonUri: string; htmlUri: string };
  runs: number;
}

export interface TrialInput {
  studyId: string;
  trialId: number;
  params: TrialParams;
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  trainer: StudyInput['trainer'];
  seed: number;
  metric: string;
  rungs: number[];
  trainQueue: string;
}

export interface TrialResult {
  metric: number;
  epochs: number;
  trainParams: TrialParams;
}

export const trialReportSignal = defineSignal<[{ trialId: number; resource: number; metric: number }]>('trialReport');
export const leaderboardQuery = defineQuery<{ trials: TrialRecord[]; best: TrialRecord | null; runs: number }>('leaderboard');

/** One trial: training split at the early-stopping rungs, reporting to the study after each. */
export async function tuningTrial(input: TrialInput): Promise<TrialResult> {
  refuseUndecodableInput(input);
  const acts = proxyActivities<Activities>({
    taskQueue: input.trainQueue,
    startToCloseTimeout: '2h',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  const parent = workflowInfo().parent;
  let checkpointUri: string | null = null;
  for (const toEpoch of [...input.rungs, Number.MAX_SAFE_INTEGER]) {
    const seg: TrialSegmentResult = await acts.trainTrialSegment({
      studyId: input.studyId,
      trialId: input.trialId,
      dataset: input.dataset,
      data: input.data,
      trainer: input.trainer,
      params: input.params,
      seed: input.seed,
      metric: input.metric,
      toEpoch,
      checkpointUri,
    });
    checkpointUri = seg.checkpointUri;
    if (seg.epoch >= seg.total) return { metric: seg.metric, epochs: seg.epoch, trainParams: seg.usedParams };
    if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(trialReportSignal, { trialId: input.trialId, resource: seg.epoch, metric: seg.metric });
  }
  throw ApplicationFailure.nonRetryable('trial did not reach its last epoch');
}

/**
 * A hyperparameter study: up to `concurrency` durable trials at once (child workflows on the
 * training queue), suggestions from seeded strategies (grid, random, TPE, ASHA), early stopping by
 * cancelling bad trials, continue-as-new every `maxTrialsPerRun` trials with all results carried.
 */
export async function tuningStudy(input: StudyInput): Promise<StudyResult> {
  refuseUndecodableInput(input);
  const info = workflowInfo();
  const studyId = info.workflowId;
  const cpu = proxyActivities<Activities>({ taskQueue: input.queues.cpu, startToCloseTimeout: '1h', heartbeatTimeout: '30s', retry: { maximumAttempts: 5 } });
  const { tune } = input;
  const strategy = createStrategy(tune, input.carried?.strategy);
  const trials: TrialRecord[] = input.carried?.trials ?? [];
  const trainParams: Record<number, TrialParams> = input.carried?.trainParams ?? {};
  const runs = (input.carried?.runs ?? 0) + 1;
  const rungs = tune.asha ? ashaRungs(tune.asha) : [];
  setHandler(leaderboardQuery, () => ({ trials, best: best(trials, tune.direction) ?? null, runs }));
  upsertSearchAttributes([{ key: STAGE, value: 'tuning' }]);

  let dataset = input.carried?.dataset ?? input.dataset;
  if (!dataset) {
    if (!input.source) throw ApplicationFailure.nonRetryable('a study needs a dataset or a source');
    dataset = (await cpu.ingestDataset({ source: input.source, schema: input.data.schema, codeVersion: input.codeVersion, cache: input.cache })).dataset;
  }
  const ds = dataset;

  // Without early-stopping rungs a trial is one activity: a child workflow would only add round
  // trips. With rungs it is a child workflow that trains segment by segment and reports back.
  const trialActs = proxyActivities<Activities>({
    taskQueue: input.trainQueue === 'gpu' ? input.queues.gpu : input.queues.cpu,
    startToCloseTimeout: '2h',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  const running = new Map<number, CancellationScope>();
  setHandler(trialReportSignal, ({ trialId, resource, metric }) => {
    const t = trials.find((x) => x.id === trialId);
    if (!t || t.state !== 'running') return;
    t.intermediate = [...(t.intermediate ?? []), { resource, metric }];
    if (strategy.decide(t, resource, metric, trials) === 'stop') {
      t.state = 'stopped';
      t.metric = metric;
      running.get(trialId)?.cancel();
    }
  });

  const launch = (params: TrialParams) => {
    const id = trials.reduce((m, t) => Math.max(m, t.id), 0) + 1;
    const rec: TrialRecord = { id, params, state: 'running' };
    trials.push(rec);
    const scope = new CancellationScope();
    running.set(id, scope);
    const trialInput: TrialInput = { studyId, trialId: id, params: { ...input.baseParams, ...params }, dataset: ds, data: input.data, trainer: input.trainer, seed: input.seed, metric: tune.metric, rungs, trainQueue: input.trainQueue === 'gpu' ? input.queues.gpu : input.queues.cpu };
    scope
      .run(async (): Promise<TrialResult> => {
        if (rungs.length) return executeChild(tuningTrial, { workflowId: `${studyId}-trial-${id}`, taskQueue: input.queues.cpu, args: [trialInput] });
        const seg = await trialActs.trainTrialSegment({ ...trialInput, toEpoch: Number.MAX_SAFE_INTEGER, checkpointUri: null });
        return { metric: seg.metric, epochs: seg.epoch, trainParams: seg.usedParams };
      })
      .then(
        (r) => {
          if (rec.state === 'running') {
            rec.state = 'completed';
            rec.metric = r.metric;
            trainParams[id] = r.trainParams;
          }
        },
        (err) => {
          if (rec.state === 'stopped' || isCancellation(err)) rec.state = 'stopped';
          else rec.state = 'failed';
        },
      )
      .finally(() => running.delete(id));
  };

  let startedThisRun = 0;
  for (;;) {
    while (running.size < tune.concurrency && startedThisRun < input.maxTrialsPerRun && strategy.remaining() > 0) {
      const [params] = strategy.suggest(trials, 1);
      if (!params) break;
      launch(params);
      startedThisRun++;
    }
    if (running.size === 0) break;
    const before = running.size;
    await condition(() => running.size < before);
  }

  if (strategy.remaining() > 0 && startedThisRun >= input.maxTrialsPerRun) {
    await continueAsNew<typeof tuningStudy>({ ...input, dataset: ds, carried: { trials, strategy: strategy.state(), dataset: ds, runs, trainParams } });
  }
  const finished = trials.filter((t) => t.state === 'completed');
  if (trials.length > 0 && finished.length === 0) {
    throw ApplicationFailure.nonRetryable(`all ${trials.length} trials failed or were stopped`, 'STUDY_FAILED');
  }
  const winner = best(trials, tune.direction);
  const leaderboard = await cpu.writeLeaderboard({ studyId, metric: tune.metric, direction: tune.direction, trials, ...(winner ? { best: winner } : {}) });
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return {
    studyId,
    trials: trials.map((t) => ({ id: t.id, params: t.params, metric: t.metric ?? null, state: t.state })),
    best: winner && winner.metric !== undefined ? { trialId: winner.id, params: winner.params, metric: winner.metric, trainParams: trainParams[winner.id] ?? winner.params } : null,
    leaderboard,
    runs,
  };
}
