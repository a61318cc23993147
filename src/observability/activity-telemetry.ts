import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { ACTIVITY_RETRIES_TOTAL, STEP_CACHE_HITS_TOTAL, STEP_CACHE_MISSES_TOTAL, TRAINING_RESUMES_TOTAL } from './metric-names';

/** The running activity's context; undefined outside one (a helper called directly records nothing). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

// The activity's meter tags every value with namespace, task queue and activity type, and its
// logger adds workflowId, runId, activityId and attempt.

export function recordStepCacheLookup(stage: string, key: string, hit: boolean): void {
  const ctx = activityContext();
  if (!ctx) return;
  if (hit) {
    ctx.metricMeter.createCounter(STEP_CACHE_HITS_TOTAL, undefined, 'Step cache lookups that reused a previous output').add(1, { stage });
    ctx.log.info('step cache hit: reusing the previous output', { stage, cacheKey: key });
  } else {
    ctx.metricMeter.createCounter(STEP_CACHE_MISSES_TOTAL, undefined, 'Step cache lookups that found nothing to reuse').add(1, { stage });
    ctx.log.debug('step cache miss', { stage, cacheKey: key });
  }
}

export function recordTrainingResume(trainer: string, epoch: number, checkpointUri: string): void {
  const ctx = activityContext();
  if (!ctx) return;
  ctx.metricMeter.createCounter(TRAINING_RESUMES_TOTAL, undefined, 'Training attempts resumed from a checkpoint').add(1, { trainer });
  ctx.log.info('training resumed from checkpoint', { trainer, epoch, checkpointUri });
}

/**
 * On every activity: counts retries (the SDK counts failures, not the attempts they cause) and
 * gives activity log lines the same `runId` key workflow log lines have (the SDK calls it
 * workflowRunId there), so one query finds everything a run logged.
 */
export const mlcycleActivityInterceptors: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      if (ctx.info.attempt > 1) {
        ctx.metricMeter.createCounter(ACTIVITY_RETRIES_TOTAL, undefined, 'Activity attempts after the first').add(1);
      }
      return next(input);
    },
  },
  outbound: {
    getLogAttributes(input, next) {
      const attributes = next(input);
      const run = ctx.info.workflowExecution;
      return run ? { ...attributes, runId: run.runId } : attributes;
    },
  },
});
