import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isMlcycleError } from '../src/errors';

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
 * Turns an MlcycleError about bad input into a non-retryable failure: retrying cannot fix it.
 * Failures carry the attempt number in their details, so the step table shows the real count.
 */
export function asActivityFailure(err: unknown): unknown {
  const attempt = currentAttempt();
  const details = attempt !== undefined ? [{ attempt }] : undefined;
  if (isMlcycleError(err) && ['DATA_INVALID', 'SPEC_INVALID', 'NOT_FOUND', 'ARTIFACT_INTEGRITY'].includes(err.code)) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: true, ...(details ? { details } : {}) });
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
