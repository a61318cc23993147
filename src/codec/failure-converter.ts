import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces often quote inputs (a row, a path, a parameter); encoding them
 * as attributes lets the payload codec encrypt them like any other payload. Loaded by path both in
 * the workflow sandbox (bundled) and in the worker's and client's main threads.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
