/**
 * Encoding-level fuzzing: arbitrary payload metadata and bytes, and valid encrypted payloads with
 * bytes flipped, truncated or relabelled, through the codec as workers and clients run it. A
 * worker never throws (that would fail the workflow task over and over): it hands the workflow
 * either the value or the refusal marker, which the payload converter can always read and the
 * gate always refuses. A client either decodes or fails with a coded MlcycleError.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../src/codec/aes-gcm-codec';
import { generateKeyringFile, parseKeyring } from '../../src/codec/keyring';
import { undecodableReason } from '../../src/codec/undecodable';
import { isMlcycleError } from '../../src/errors';
import { checkSignedVote } from '../../workflows/approval-gate';
import type { PendingGate } from '../../workflows/approval-definitions';
import { arbitraryPayload, mutate, mutation } from './encodings';
import { fuzzTarget } from './fuzz-support';

const keyring = parseKeyring(generateKeyringFile(), 'fuzz');
const worker = new AesGcmPayloadCodec(keyring, { onUndecodable: 'marker' });
const keylessWorker = new AesGcmPayloadCodec(undefined, { onUndecodable: 'marker' });
const client = new AesGcmPayloadCodec(keyring);
/** A valid encrypted vote-like payload, then one mutation of it. */
const mutated = fc.tuple(fc.jsonValue({ maxDepth: 3 }), mutation).map(([value, m]) => ({ value, m }));

const gate: PendingGate = {
  model: 'm', version: 1, metrics: {}, reports: {}, approvers: ['alice'], required: 1, votes: [], refused: [],
  status: 'Pending', deadline: new Date(0).toISOString(), onTimeout: 'reject', signed: true, workflowId: 'w', runId: 'r',
};

/** What the workflow sandbox would do with a decoded payload: convert it, and (for a vote) judge it. */
function judged(p: Payload): unknown {
  const value = defaultPayloadConverter.fromPayload(p);
  expect(() => checkSignedVote(gate, { keys: {}, openedAt: 0 }, value, {})).toThrow();
  return value;
}

describe('fuzz: payload encoding (metadata and bytes)', () => {
  const target = fuzzTarget('payload-encoding');

  it('a worker turns any payload into a value or the refusal marker, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryPayload, async (p) => {
        target.hit();
        for (const codec of [worker, keylessWorker]) {
          const [out] = await codec.decode([p]);
          const value = judged(out!);
          const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
          // With keys, nothing unencrypted is let through.
          if (codec === worker) expect(undecodableReason(value), encoding).toBeDefined();
        }
      }),
      target.params(300),
    );
  });

  it('a tampered, truncated or relabelled ciphertext is refused by workers and by clients with a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async ({ value, m }) => {
        target.hit();
        const [enc] = await client.encode([defaultPayloadConverter.toPayload(value)]);
        const changed = mutate(enc!, m);
        const [out] = await worker.decode([changed]);
        expect(undecodableReason(judged(out!))).toBeDefined();
        const error = await client.decode([changed]).then(() => undefined, (e: unknown) => e);
        expect(isMlcycleError(error), String(error)).toBe(true);
        // The untouched ciphertext still decodes to the value.
        const [back] = await worker.decode([enc!]);
        // Payloads are JSON: the value comes back as JSON has it (-0 as 0).
        expect(defaultPayloadConverter.fromPayload(back!)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      target.params(200),
    );
  });
});
