import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { isMlcycleError, isRetryableCode } from '../src/errors';

/**
 * An MlcycleError as the failure the workflow sees: its type is the error code, and it is
 * non-retryable exactly when the code is on the one list in src/errors.ts. Anything else passes
 * through unchanged (the SDK's own failures, ApplicationFailures raised on purpose).
 */
export function asActivityFailure(err: unknown): unknown {
  if (!isMlcycleError(err)) return err;
  const failure = isRetryableCode(err.code)
    ? ApplicationFailure.retryable(err.message, err.code)
    : ApplicationFailure.nonRetryable(err.message, err.code);
  failure.stack = err.stack;
  return failure;
}

/** Applies asActivityFailure to every activity, so no activity can forget to (the worker installs it). */
export const failureBoundaryInterceptors: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  },
});
