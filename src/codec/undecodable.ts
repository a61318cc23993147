/**
 * What a worker's codec hands the workflow instead of a payload it cannot or must not decode
 * (unknown key, tampered ciphertext, unknown encoding, plaintext where keys are configured). A
 * codec that threw would fail the workflow task over and over, wedging the run; this marker lets
 * the workflow refuse the one input (a vote is recorded as refused, an update is rejected, a
 * workflow input fails the run) and carry on. Pure: imported by workflow code.
 */
export const UNDECODABLE_FIELD = '$mlcycleUndecodable';

export interface Undecodable {
  [UNDECODABLE_FIELD]: { reason: string };
}

export function undecodable(reason: string): Undecodable {
  return { [UNDECODABLE_FIELD]: { reason } };
}

/** The reason when `value` is the marker, else undefined. */
export function undecodableReason(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !(UNDECODABLE_FIELD in value)) return undefined;
  const inner = (value as Record<string, unknown>)[UNDECODABLE_FIELD];
  const reason = typeof inner === 'object' && inner !== null ? (inner as { reason?: unknown }).reason : undefined;
  return `payload refused: ${typeof reason === 'string' ? reason : 'could not be decoded'}`;
}
