import { ActivityFailure, ApplicationFailure, TimeoutFailure, metricMeter, upsertSearchAttributes } from '@temporalio/workflow';
import { STAGE_DURATION_SECONDS } from '../src/observability/metric-names';
import { STAGE } from './search-attributes';
import { StepTracker } from './step-tracker';

export interface StepOutcomeLike {
  cached: boolean;
  attempt: number;
}

/**
 * Runs a pipeline's steps in order, keeping the step table (`status` query) and the stage search
 * attribute current. On a failure the later steps are marked skipped. Deterministic: safe in
 * workflow code.
 */
export class StepRunner<Name extends string> {
  readonly tracker: StepTracker;
  private stageDuration?: ReturnType<typeof metricMeter.createHistogram>;

  /** `metricTags` go on every stage duration this runner records (e.g. the model name). */
  constructor(
    private readonly names: readonly Name[],
    private readonly metricTags: Record<string, string> = {},
  ) {
    this.tracker = new StepTracker(names);
  }

  async run<T extends StepOutcomeLike>(name: Name, fn: () => Promise<T>, summary: (r: T) => string): Promise<T> {
    this.tracker.set(name, 'running');
    upsertSearchAttributes([{ key: STAGE, value: name }]);
    // Workflow time: deterministic, and the duration covers retries and waiting for a worker.
    const started = Date.now();
    try {
      const result = await fn();
      this.tracker.set(name, 'completed', { attempts: result.attempt, cached: result.cached, summary: summary(result) });
      this.recordDuration(name, started, result.cached ? 'cached' : 'completed');
      return result;
    } catch (err) {
      const attempts = attemptsOf(err);
      this.fail(name, undefined, attempts);
      this.recordDuration(name, started, 'failed');
      throw err;
    }
  }

  /** The SDK leaves out values recorded while replaying, so each stage counts once. */
  private recordDuration(stage: Name, started: number, outcome: 'completed' | 'cached' | 'failed'): void {
    // Created once per run: creating the instrument per stage went through the SDK's sink each time.
    this.stageDuration ??= metricMeter.createHistogram(STAGE_DURATION_SECONDS, 'float', 's', 'Pipeline stage duration, retries and queueing included');
    this.stageDuration.record((Date.now() - started) / 1000, { ...this.metricTags, stage, outcome });
  }

  /** A gate (validation, evaluation) said no: the step fails with a non-retryable, readable error. */
  gateFailure(name: Name, message: string, type: string, details: Record<string, string>): ApplicationFailure {
    this.fail(name, message.split('\n')[0]);
    return ApplicationFailure.nonRetryable(message, type, details);
  }

  finish(): void {
    upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  }

  private fail(name: Name, summary?: string, attempts?: number): void {
    this.tracker.set(name, 'failed', { ...(summary ? { summary } : {}), ...(attempts ? { attempts } : {}) });
    for (const later of this.names.slice(this.names.indexOf(name) + 1)) this.tracker.set(later, 'skipped');
    upsertSearchAttributes([{ key: STAGE, value: `failed:${name}` }]);
  }
}

/**
 * The attempts a failed activity step made: the last attempt's number travels in its heartbeat
 * details (a timed-out attempt) or in the failure's details (an attempt that threw).
 */
export function attemptsOf(err: unknown): number | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  let details: unknown;
  if (cause instanceof TimeoutFailure) details = cause.lastHeartbeatDetails;
  else if (cause instanceof ApplicationFailure) details = cause.details?.[0];
  const attempt = (details as { attempt?: unknown } | undefined)?.attempt;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 0 ? attempt : undefined;
}
