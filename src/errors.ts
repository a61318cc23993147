/**
 * Every failure mlcycle reports on purpose is an MlcycleError with a stable code, so the CLI can map
 * it to an exit status and callers can branch on `code` instead of parsing messages.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'SPEC_INVALID'
  | 'SERVICE_UNREACHABLE'
  /** Namespace, search attributes or bucket missing: `mlcycle cluster init` fixes it. */
  | 'CLUSTER_NOT_READY'
  | 'PORT_IN_USE'
  | 'BINARY_NOT_FOUND'
  | 'BUILD_FAILED'
  | 'NOT_FOUND'
  | 'DATA_INVALID'
  | 'ARTIFACT_INTEGRITY'
  | 'TRAINING_FAILED'
  | 'DECISION_REFUSED'
  | 'CODEC_KEY_UNKNOWN'
  | 'CODEC_DECRYPT_FAILED'
  | 'CODEC_PLAINTEXT_REFUSED'
  | 'PERMISSION_DENIED'
  /** Another operation holds what this one needs (a move of the same alias in progress): try again after it. */
  | 'CONFLICT';

/**
 * The one list of failures no retry can fix: bad input, missing things, refused decisions, keys
 * that are not there. Activities' MlcycleErrors with these codes become non-retryable failures at
 * the activity boundary (activities/failures.ts, applied to every activity by the worker), and
 * every workflow's retry policy names the same list for ApplicationFailures raised directly.
 * Everything else (unreachable services, a training process that crashed) is retried.
 */
export const NON_RETRYABLE_CODES = [
  'USAGE',
  'CONFIG_INVALID',
  'SPEC_INVALID',
  'NOT_FOUND',
  'DATA_INVALID',
  'ARTIFACT_INTEGRITY',
  'DECISION_REFUSED',
  // The worker's configuration refused it (--allow-command, --data-root): a retry is refused again.
  'PERMISSION_DENIED',
  'CODEC_KEY_UNKNOWN',
  'CODEC_DECRYPT_FAILED',
  'CODEC_PLAINTEXT_REFUSED',
] as const satisfies readonly ErrorCode[];

/** For retry policies' `nonRetryableErrorTypes` (a failure's type is the error code). */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [...NON_RETRYABLE_CODES];

export function isRetryableCode(code: ErrorCode): boolean {
  return !(NON_RETRYABLE_CODES as readonly ErrorCode[]).includes(code);
}

/** Exit status 2 is reserved for bad input (flags, env, spec, an unprepared cluster), as the CLI contract says. */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set(['USAGE', 'CONFIG_INVALID', 'SPEC_INVALID', 'CLUSTER_NOT_READY']);

export class MlcycleError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MlcycleError';
  }

  get exitCode(): number {
    return BAD_INPUT.has(this.code) ? 2 : 1;
  }
}

export function isMlcycleError(err: unknown): err is MlcycleError {
  return err instanceof MlcycleError;
}
