/**
 * Payloads at the encoding level for the fuzz suites: arbitrary metadata (encodings known and
 * not, key ids, raw bytes) with arbitrary data, and one mutation of a valid encrypted payload
 * (a flipped byte, truncated, extended, relabelled with another key id, or without its encoding).
 */
import type { Payload } from '@temporalio/common';
import fc from 'fast-check';
import { ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../src/codec/aes-gcm-codec';

const bytes = (s: string) => Buffer.from(s, 'utf8');

const encodings = fc.oneof(
  fc.constantFrom('json/plain', 'binary/null', 'binary/plain', ENCRYPTED_ENCODING, 'json/protobuf', 'foo/bar', ''),
  fc.string({ maxLength: 40 }),
);
const metadata = fc.dictionary(
  fc.oneof(fc.constantFrom('encoding', METADATA_KEY_ID, 'encryption-cipher', 'messageType'), fc.string({ maxLength: 20 })),
  fc.oneof(encodings.map(bytes), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))),
  { maxKeys: 5 },
);
export const arbitraryPayload: fc.Arbitrary<Payload> = fc.record({ metadata, data: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)) });

export const MUTATIONS = ['flip', 'truncate', 'relabel', 'extend', 'drop-encoding'] as const;
export type Mutation = (typeof MUTATIONS)[number];
export const mutation = fc.tuple(fc.constantFrom(...MUTATIONS), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([how, at, x]) => ({ how, at, x }));

/** `enc` (a valid encrypted payload) changed one way; `at` and `x` pick the byte and the change. */
export function mutate(enc: Payload, m: { how: Mutation; at: number; x: number }): Payload {
  const data = Buffer.from(enc.data!);
  const meta = { ...enc.metadata! };
  const { how, at, x } = m;
  if (how === 'flip') {
    data[at % data.length] = (data[at % data.length] ?? 0) ^ x;
    return { metadata: meta, data };
  }
  if (how === 'truncate') return { metadata: meta, data: data.subarray(0, at % data.length) };
  if (how === 'extend') return { metadata: meta, data: Buffer.concat([data, Buffer.from([x])]) };
  if (how === 'relabel') return { metadata: { ...meta, [METADATA_KEY_ID]: bytes(`other-${x}`) }, data };
  return { metadata: { [METADATA_KEY_ID]: meta[METADATA_KEY_ID]! }, data };
}
