/**
 * The fan-out study shared by bench/tuning-fanout.ts and bench/peers: a real `tuningStudy` whose
 * trial activity is a sleep, so only the orchestration is measured.
 */
import type { TrialSegmentInput, TrialSegmentResult } from '../workflows/pipeline-types';
import { parseTuneSpec } from '../src/tuning/tune-spec';
import { DEFAULT_MAX_TRIALS_PER_RUN, type StudyInput } from '../workflows/tuning-study';

/** The two activities a study without rungs calls, with `workMs` of synthetic training per trial. */
export function syntheticStudyActivities(workMs: number) {
  let seq = 0;
  return {
    async trainTrialSegment(input: TrialSegmentInput): Promise<TrialSegmentResult> {
      await new Promise((r) => setTimeout(r, workMs));
      return { usedParams: input.params, epoch: 1, total: 1, metric: ((input.trialId * 7919) % 1000) / 1000, checkpointUri: 's3://bench/none', attempt: 1 };
    },
    async writeLeaderboard() {
      seq++;
      return { jsonUri: `s3://bench/leaderboard-${seq}.json`, htmlUri: `s3://bench/leaderboard-${seq}.html` };
    },
  };
}

/** A random-search study of `trials` trials at `concurrency`, every queue being `queue`. */
export function syntheticStudyInput(opts: { trials: number; concurrency: number; seed: number; queue: string }): StudyInput {
  const tune = parseTuneSpec({ strategy: 'random', trials: opts.trials, concurrency: opts.concurrency, seed: 1, metric: 'auc', space: { learningRate: { loguniform: [0.001, 0.5] } } });
  return {
    name: 'bench',
    tune,
    data: { source: 'file:///dev/null', target: 'y', schema: { y: { type: 'boolean', required: true } }, split: { test: 0.2, validation: 0.1, seed: 1, stratify: false }, extraColumns: 'ignore' },
    trainer: 'logistic-regression',
    baseParams: {},
    seed: opts.seed,
    dataset: { uri: 's3://bench/none', sha256: '0'.repeat(64), size: 0, format: 'csv' },
    queues: { cpu: opts.queue, gpu: opts.queue },
    trainQueue: 'cpu',
    codeVersion: 'bench',
    cache: false,
    maxTrialsPerRun: DEFAULT_MAX_TRIALS_PER_RUN,
  };
}
