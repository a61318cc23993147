/**
 * Every failure mlcycle reports on purpose is an MlcycleError with a stable code, so the CLI can map
 * it to an exit status and callers can branch on `code` instead of parsing messages.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'SPEC_INVALID'
  | 'SERVICE_UNREACHABLE'
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
  | 'PERMISSION_DENIED';

/** Exit status 2 is reserved for bad input (flags, env, spec), as the CLI contract says. */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set(['USAGE', 'CONFIG_INVALID', 'SPEC_INVALID']);

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
