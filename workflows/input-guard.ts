import { ApplicationFailure } from '@temporalio/workflow';
import { undecodableReason } from '../src/codec/undecodable';

/**
 * A workflow input the worker could not decode (plaintext where keys are configured, unknown key,
 * tampered) fails the run once, with the reason, instead of failing its workflow tasks forever.
 */
export function refuseUndecodableInput(input: unknown): void {
  const why = undecodableReason(input);
  if (why) throw ApplicationFailure.nonRetryable(`workflow input ${why}`, 'PAYLOAD_REFUSED');
}
