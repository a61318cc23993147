import { ApplicationFailure } from '@temporalio/common';
import { isMlcycleError } from '../src/errors';

/** Turns an MlcycleError about bad input into a non-retryable failure: retrying cannot fix it. */
export function asActivityFailure(err: unknown): unknown {
  if (isMlcycleError(err) && ['DATA_INVALID', 'SPEC_INVALID', 'NOT_FOUND', 'ARTIFACT_INTEGRITY', 'DECISION_REFUSED', 'CONFIG_INVALID', 'PERMISSION_DENIED'].includes(err.code)) {
    return ApplicationFailure.nonRetryable(err.message, err.code);
  }
  return err;
}
