import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../src/codec/aes-gcm-codec';
import { mlcycleDataConverter } from '../../src/codec/data-converter';
import { undecodableReason } from '../../src/codec/undecodable';
import { generateKeyringFile, parseKeyring, rotateKeyringFile, type KeyringFile } from '../../src/codec/keyring';
import { MlcycleError } from '../../src/errors';

const payload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('utf8');
const keyring = (f: KeyringFile) => parseKeyring(f, 'test');

describe('AesGcmPayloadCodec', () => {
  const file = generateKeyringFile();
  const codec = new AesGcmPayloadCodec(keyring(file));

  it('round-trips payloads and hides data and metadata', async () => {
    const secret = { customer: 'alice@example.com', features: [1, 2, 3] };
    const [encoded] = await codec.encode([payload(secret)]);
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encoded!.metadata![METADATA_KEY_ID]!).toString()).toBe(file.active);
    expect(text(encoded!)).not.toContain('alice');
    expect(Object.keys(encoded!.metadata!)).not.toContain('messageType');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secret);
  });

  it('uses a fresh IV per payload', async () => {
    const [a, b] = await codec.encode([payload('same'), payload('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('refuses plaintext on decode where keys are configured, unless told not to be strict', async () => {
    const plain = payload({ a: 1 });
    await expect(codec.decode([plain])).rejects.toThrow(/plaintext payload .* refused: codec keys are configured/);
    expect(await new AesGcmPayloadCodec(keyring(file), { strict: false }).decode([plain])).toEqual([plain]);
    expect(await new AesGcmPayloadCodec(undefined).decode([plain])).toEqual([plain]);
  });

  it('in a worker, turns what cannot be decoded into the refusal marker instead of throwing', async () => {
    const worker = new AesGcmPayloadCodec(keyring(file), { onUndecodable: 'marker' });
    const [good] = await codec.encode([payload({ ok: true })]);
    const unknownKey = { ...good!, metadata: { ...good!.metadata, [METADATA_KEY_ID]: Buffer.from('nope') } };
    const tampered = { ...good!, data: Buffer.from(good!.data!).fill(7, 20, 24) };
    const foreign = { metadata: { encoding: Buffer.from('foo/bar') }, data: Buffer.from('x') };
    const decoded = await worker.decode([good!, unknownKey, tampered, foreign, payload({ a: 1 })]);
    const values = decoded.map((p) => JSON.parse(Buffer.from(p.data!).toString()) as Record<string, unknown>);
    expect(values[0]).toEqual({ ok: true });
    expect(undecodableReason(values[1])).toMatch(/key "nope"/);
    expect(undecodableReason(values[2])).toMatch(/failed authentication/);
    expect(undecodableReason(values[3])).toMatch(/plaintext payload/);
    expect(undecodableReason(values[4])).toMatch(/plaintext payload/);
    const keyless = new AesGcmPayloadCodec(undefined, { onUndecodable: 'marker' });
    const [unknownEncoding, bad] = await keyless.decode([foreign, { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{nope') }]);
    expect(undecodableReason(JSON.parse(Buffer.from(unknownEncoding!.data!).toString()))).toMatch(/unknown payload encoding "foo\/bar"/);
    expect(undecodableReason(JSON.parse(Buffer.from(bad!.data!).toString()))).toMatch(/not valid JSON/);
  });

  it('reads payloads written before a rotation and writes with the new key', async () => {
    const rotated = rotateKeyringFile(file);
    const after = new AesGcmPayloadCodec(keyring(rotated));
    const [old] = await codec.encode([payload('before rotation')]);
    const [fresh] = await after.encode([payload('after rotation')]);
    expect(Buffer.from(fresh!.metadata![METADATA_KEY_ID]!).toString()).toBe(rotated.active);
    expect(rotated.active).not.toBe(file.active);
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['before rotation', 'after rotation']);
  });

  it('names the missing key id', async () => {
    const [encoded] = await codec.encode([payload('x')]);
    const other = new AesGcmPayloadCodec(keyring(generateKeyringFile()));
    // Same id (k1) but another key: authentication fails rather than returning garbage.
    await expect(other.decode([encoded!])).rejects.toMatchObject({ code: 'CODEC_DECRYPT_FAILED' });
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [METADATA_KEY_ID]: Buffer.from('k9') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/key "k9"/);
    await expect(new AesGcmPayloadCodec(undefined).decode([encoded!])).rejects.toThrow(/no codec keys are configured/);
  });

  it('detects tampering', async () => {
    const [encoded] = await codec.encode([payload('x')]);
    const data = Buffer.from(encoded!.data!);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...encoded!, data }])).rejects.toBeInstanceOf(MlcycleError);
  });

  it('plain passthrough without keys on encode', async () => {
    const p = payload('x');
    expect(await new AesGcmPayloadCodec(undefined).encode([p])).toEqual([p]);
  });
});

describe('keyring validation', () => {
  it('names the field that is wrong', () => {
    expect(() => parseKeyring({ active: 'k2', keys: { k1: Buffer.alloc(32).toString('base64') } }, 'f.json')).toThrow(/active: must name one of the ids/);
    expect(() => parseKeyring({ active: 'k1', keys: { k1: 'c2hvcnQ=' } }, 'f.json')).toThrow(/keys\.k1: expected 32 bytes in base64/);
    expect(() => parseKeyring({ active: 'k1' }, 'f.json')).toThrow(/keys:/);
  });
});

describe('failure converter', () => {
  it('moves messages and stack traces into an encrypted attribute', async () => {
    const file = generateKeyringFile();
    const loaded = loadDataConverter(mlcycleDataConverter(keyring(file)));
    const failure = loaded.failureConverter.errorToFailure(new Error('row 17: customer alice@example.com'), loaded.payloadConverter);
    expect(failure.message).not.toContain('alice');
    expect(failure.stackTrace ?? '').not.toContain('alice');
    const [encoded] = await loaded.payloadCodecs[0]!.encode([failure.encodedAttributes!]);
    expect(text(encoded!)).not.toContain('alice');
  });
});
