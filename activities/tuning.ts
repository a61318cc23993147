import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { MlcycleError } from '../src/errors';
import { computeTaskMetrics } from '../src/training/task-metrics';
import type { MetricName } from '../src/spec/pipeline-spec';
import { loadTrainingMatrices } from './training-data';
import { readStoredJson } from '../src/storage/stored-json';
import { CheckpointSchema, fingerprintData, runTraining, type Checkpoint } from '../src/training/training-loop';
import { GradientBoostingParamsSchema, LogisticRegressionParamsSchema, getTrainer, type TrainerName } from '../src/training/trainers';
import { renderLeaderboardHtml } from '../src/tuning/leaderboard';
import type { TrialParams, TrialRecord } from '../src/tuning/strategies';
import type { TrialSegmentInput, TrialSegmentResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { startPulse } from './heartbeat';



const PARAM_KEYS: Record<TrainerName, readonly string[]> = {
  'logistic-regression': Object.keys(LogisticRegressionParamsSchema.shape),
  'gradient-boosting': Object.keys(GradientBoostingParamsSchema.shape),
};

/** A trial's sampled values, keeping only what its trainer takes (the space may span trainers). */
export function trainerParams(trainer: TrainerName, params: TrialParams): Record<string, number | string | boolean> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'trainer' && PARAM_KEYS[trainer].includes(k)));
}

/**
 * One segment of a tuning trial: trains from the previous segment's checkpoint up to `toEpoch`,
 * scores the held-out split with the study's metric and stores a checkpoint for the next segment.
 * Splitting a trial at the early-stopping rungs lets the study stop it between segments, or cancel
 * a running segment, without losing completed work.
 */
export function createTuningActivities(deps: ActivityDeps) {
  return {
    async trainTrialSegment(input: TrialSegmentInput): Promise<TrialSegmentResult> {
      const ctx = Context.current();
      const pulse = startPulse(ctx, { phase: 'load', done: 0, total: input.toEpoch });
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'trial-'));
      try {
        const trainer = (typeof input.params.trainer === 'string' ? input.params.trainer : input.trainer) as TrainerName;
        const usedParams = trainerParams(trainer, input.params);
        // Trials are scored on the spec's validation rows only: the test rows stay unseen until the
        // final evaluation of the model the study picks.
        const m = await loadTrainingMatrices(deps, input.dataset, input.data, { task: input.task }, { scratch, signal: pulse.signal });
        if (!m.validation) {
          throw new MlcycleError('DATA_INVALID', 'tuning needs validation rows, and data.split.validation leaves none; set it above 0 (default 0.1)');
        }
        const data = m.fit;
        const validation = m.validation;
        const resumeFrom = input.checkpointUri ? await readStoredJson(deps.store, input.checkpointUri, CheckpointSchema, 'checkpoint') : undefined;
        const stop = new AbortController();
        const onCancel = () => stop.abort(ctx.cancellationSignal.reason);
        if (ctx.cancellationSignal.aborted) onCancel();
        ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
        let reached: Checkpoint | undefined;
        let last: Checkpoint | undefined;
        let total = input.toEpoch;
        const REACHED = new Error('segment end');
        try {
          const result = await runTraining({
            trainer,
            data,
            validation,
            params: usedParams,
            seed: input.seed,
            resumeFrom,
            checkpointEvery: 1,
            signal: stop.signal,
            onEpoch: (epoch, t) => {
              total = t;
              pulse.beat({ done: epoch, total: Math.min(t, input.toEpoch) });
            },
            onCheckpoint: (cp) => {
              last = cp;
              if (cp.epoch >= input.toEpoch) {
                reached = cp;
                stop.abort(REACHED);
              }
            },
          });
          // Training ended before the rung (converged, early-stopped, or resumed already done): its last
          // checkpoint, which a later segment can resume from (so it carries the data's fingerprint).
          reached ??= last ?? { format: 'mlcycle-checkpoint/v2', trainer, epoch: result.state.epoch, totalEpochs: result.state.totalEpochs, seed: input.seed, dataFingerprint: resumeFrom?.dataFingerprint ?? fingerprintData(data), state: result.state };
        } catch (err) {
          if (err !== REACHED || !reached) throw err;
        } finally {
          ctx.cancellationSignal.removeEventListener('abort', onCancel);
        }
        const cp = reached;
        const out = getTrainer(trainer).predict(cp.state, validation.X);
        const metrics = computeTaskMetrics({ task: m.task, y: validation.y.values, pred: out, numClasses: m.encoder.target.classes?.length ?? 0 }, [input.metric as MetricName]);
        const stored = await deps.store.putJson(cp);
        // A trainer that converged or stopped early is finished: its last epoch is the one it reached.
        return { usedParams: { trainer, ...usedParams }, epoch: cp.epoch, total: cp.state.done ? cp.epoch : total, metric: metrics[input.metric as 'auc'] ?? Number.NaN, checkpointUri: stored.uri, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        pulse.stop();
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },

    /** The study's results as artifacts: leaderboard JSON and an HTML page with plots. */
    async writeLeaderboard(input: { studyId: string; metric: string; direction: 'maximize' | 'minimize'; trials: TrialRecord[]; best?: TrialRecord }): Promise<{ jsonUri: string; htmlUri: string }> {
      const json = await deps.store.putJson({ format: 'mlcycle-leaderboard/v1', ...input });
      const html = await deps.store.putBytes(renderLeaderboardHtml(input), { contentType: 'text/html; charset=utf-8' });
      return { jsonUri: json.uri, htmlUri: html.uri };
    },
  };
}
