import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { isMlcycleError, isRetryableCode } from '../src/errors';
import { redactErrorInPlace, redactValue, secretValues } from '../src/config/secrets';

/** The attempt number, unless outside an activity or the attempt was cancelled (its error must stay as is). */
function currentAttempt(): number | undefined {
  try {
    const ctx = Context.current();
    return ctx.cancellationSignal.aborted ? undefined : ctx.info.attempt;
  } catch {
    return undefined; // not inside an activity (a test calling the function directly)
  }
}

/**
 * An MlcycleError as the failure the workflow sees: its type is the error code, and it is
 * non-retryable exactly when the code is on the one list in src/errors.ts. Other errors keep their
 * type (the SDK's own failures, ApplicationFailures raised on purpose). Failures carry the attempt
 * number in their details, so the step table shows the real count.
 */
export function asActivityFailure(err: unknown): unknown {
  const attempt = currentAttempt();
  const details = attempt !== undefined ? [{ attempt }] : undefined;
  if (isMlcycleError(err)) {
    const failure = ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !isRetryableCode(err.code), ...(details ? { details } : {}) });
    failure.stack = err.stack;
    return failure;
  }
  if (err instanceof ApplicationFailure) {
    if (details && (!err.details || err.details.length === 0)) {
      return ApplicationFailure.create({ message: err.message, type: err.type ?? undefined, nonRetryable: err.nonRetryable ?? undefined, details, cause: err.cause });
    }
    return err;
  }
  if (err instanceof Error && details && err.name !== 'CancelledFailure' && err.name !== 'AbortError') {
    // The same type the SDK would give it (its class name), so retry rules are unchanged.
    const failure = ApplicationFailure.create({ message: err.message, type: err.name, details });
    failure.stack = err.stack;
    return failure;
  }
  return err;
}

/**
 * Applies asActivityFailure to every activity, so no activity can forget to (the worker installs
 * it), and takes the worker's secrets out of whatever the activity hands back: its failure
 * (message, stack, details, causes) and its result (a validation report quoting a value, say) go
 * into the history, and from there into `mlcycle status`, the Web UI and the SDK's log line.
 */
export const failureBoundaryInterceptors: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      let result: unknown;
      try {
        result = await next(input);
      } catch (err) {
        const failure = asActivityFailure(err);
        redactErrorInPlace(failure, secretValues());
        throw failure;
      }
      return redactValue(result, secretValues());
    },
  },
});
