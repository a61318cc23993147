/**
 * Integration tests against the real MinIO started by test/global-setup.ts. Each test writes under
 * its own random key prefix so tests neither see nor depend on each other's objects.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MlcycleError } from '../../src/errors';
import {
  contentKey,
  createArtifactStore,
  parseS3Uri,
  type ArtifactStore,
  type ArtifactStoreTuning,
} from '../../src/storage/artifact-store';
import { checkS3Reachable, createS3Client, ensureBucket } from '../../src/storage/s3-client';

import type { S3Settings } from '../../src/config/env';
import { expectMlcycleError, stackS3Settings } from '../helpers/stack-s3';

const MiB = 1024 * 1024;
const settings = stackS3Settings();

let client: S3Client;
let tmp: string;

beforeAll(async () => {
  client = createS3Client(settings);
  await ensureBucket(client, settings.bucket);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mlcycle-artifact-store-'));
});

afterAll(async () => {
  client?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function freshStore(tuning?: ArtifactStoreTuning): { store: ArtifactStore; prefix: string } {
  const prefix = `it-artifact-store/${randomUUID()}/`;
  return { store: createArtifactStore({ client, bucket: settings.bucket, prefix, ...(tuning ? { tuning } : {}) }), prefix };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A stream whose length nobody knows in advance, delivered in irregular chunks. */
function chunked(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0, n = 0; at < data.length; n++) {
        const len = 1 + ((n * 7919) % (256 * 1024));
        yield data.subarray(at, at + len);
        at += len;
      }
    })(),
  );
}

describe('artifact store against MinIO', () => {
  it('round-trips a multi-MiB file through putFile / getToFile / getBytes', async () => {
    const { store, prefix } = freshStore();
    // Larger than one 16 MiB part, so the multipart path runs.
    const data = randomBytes(21 * MiB + 123);
    const src = path.join(tmp, `src-${randomUUID()}.bin`);
    await writeFile(src, data);

    const ref = await store.putFile(src, { contentType: 'application/x-test' });
    expect(ref.sha256).toBe(sha256(data));
    expect(ref.size).toBe(data.length);
    expect(ref.uri).toBe(`s3://${settings.bucket}/${contentKey(prefix, ref.sha256)}`);
    expect(await store.exists(ref)).toBe(true);

    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: parseS3Uri(ref.uri).key }));
    expect(head.Metadata?.['sha256']).toBe(ref.sha256);
    expect(head.ContentType).toBe('application/x-test');

    const dest = path.join(tmp, `nested-${randomUUID()}`, 'dest.bin');
    await store.getToFile(ref, dest);
    expect((await readFile(dest)).equals(data)).toBe(true);
    // A bare URI works too, and getBytes sees the same bytes.
    expect((await store.getBytes(ref.uri)).equals(data)).toBe(true);
  });

  it('refuses a file rewritten between its hash and its upload, leaving nothing under the content key', async () => {
    const data = randomBytes(2 * MiB);
    const src = path.join(tmp, `changing-${randomUUID()}.bin`);
    await writeFile(src, data);
    // Its own client: after hashing, the store asks MinIO whether the content key exists; this
    // hook rewrites one byte of the file in place at that moment (same size, new bytes).
    const hooked = createS3Client(settings);
    let rewritten = false;
    hooked.middlewareStack.add(
      (next) => async (args) => {
        if (!rewritten) {
          rewritten = true;
          const fh = await open(src, 'r+');
          await fh.write(Buffer.from([data[0]! ^ 0xff]), 0, 1, 0);
          await fh.close();
        }
        return next(args);
      },
      { step: 'initialize', name: 'rewrite-source-once' },
    );
    try {
      const prefix = `it-artifact-store/${randomUUID()}/`;
      const store = createArtifactStore({ client: hooked, bucket: settings.bucket, prefix });
      const err = await store.putFile(src).catch((e: unknown) => e);
      expect(rewritten).toBe(true);
      expect(err).toBeInstanceOf(MlcycleError);
      expect((err as MlcycleError).code).toBe('DATA_INVALID');
      expect((err as Error).message).toContain('changed while it was being uploaded');
      expect(await store.exists(`s3://${settings.bucket}/${contentKey(prefix, sha256(data))}`)).toBe(false);
    } finally {
      hooked.destroy();
    }
  });

  it('stores the same bytes once, however they arrive', async () => {
    const { store } = freshStore();
    const data = randomBytes(3 * MiB);
    const a = path.join(tmp, `a-${randomUUID()}.bin`);
    const b = path.join(tmp, `b-${randomUUID()}.bin`);
    await writeFile(a, data);
    await writeFile(b, data);

    const refs = [
      await store.putFile(a),
      await store.putFile(b),
      await store.putBytes(data),
      await store.putStream(chunked(data)),
    ];
    for (const ref of refs) expect(ref).toEqual(refs[0]);
    expect(await store.listNamed('artifacts/')).toEqual([contentKey('', sha256(data))]);
    expect(await store.listNamed('staging/')).toEqual([]);
  });

  it('puts a stream of unknown length, content-addressed, leaving no staging object', async () => {
    const { store, prefix } = freshStore();
    const data = randomBytes(19 * MiB + 7);
    const ref = await store.putStream(chunked(data), { contentType: 'text/csv' });
    expect(ref).toEqual({
      uri: `s3://${settings.bucket}/${contentKey(prefix, sha256(data))}`,
      sha256: sha256(data),
      size: data.length,
    });
    expect((await store.getBytes(ref)).equals(data)).toBe(true);
    expect(await store.listNamed('staging/')).toEqual([]);
    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: parseS3Uri(ref.uri).key }));
    expect(head.Metadata?.['sha256']).toBe(ref.sha256);
    expect(head.ContentType).toBe('text/csv');
  });

  it('copies big staged objects with UploadPartCopy (threshold lowered for the test)', async () => {
    const { store } = freshStore({ multipartCopyThreshold: 5 * MiB, copyPartSize: 5 * MiB });
    const data = randomBytes(12 * MiB + 5);
    const ref = await store.putStream(chunked(data), { contentType: 'application/x-big' });
    expect(ref.sha256).toBe(sha256(data));
    expect((await store.getBytes(ref)).equals(data)).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: parseS3Uri(ref.uri).key }));
    expect(head.Metadata?.['sha256']).toBe(ref.sha256);
    expect(head.ContentType).toBe('application/x-big');
    // A multipart object's ETag ends in "-<parts>": 12 MiB in 5 MiB parts is three.
    expect(head.ETag).toMatch(/-3"$/);
    expect(await store.listNamed('staging/')).toEqual([]);
  });

  it('handles empty content and JSON', async () => {
    const { store } = freshStore();
    const empty = await store.putStream(Readable.from([]));
    expect(empty.size).toBe(0);
    expect((await store.getBytes(empty)).length).toBe(0);

    const value = { model: 'rf', metrics: { auc: 0.91 }, tags: ['a', 'b'] };
    const ref = await store.putJson(value);
    expect(await store.getJson(ref)).toEqual(value);
    expect(await store.putJson({ ...value })).toEqual(ref);
  });

  it('fails getToFile on tampered bytes with ARTIFACT_INTEGRITY and leaves no file behind', async () => {
    const { store } = freshStore();
    const data = randomBytes(2 * MiB);
    const ref = await store.putBytes(data);
    // Same length, different bytes: only the hash can tell.
    const tampered = Buffer.from(data);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    await client.send(new PutObjectCommand({ Bucket: settings.bucket, Key: parseS3Uri(ref.uri).key, Body: tampered }));

    const dir = path.join(tmp, `tamper-${randomUUID()}`);
    const dest = path.join(dir, 'model.bin');
    const err = await expectMlcycleError(store.getToFile(ref, dest), 'ARTIFACT_INTEGRITY');
    expect(err.message).toContain(ref.uri);
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);

    // The content key alone is enough to know what the bytes must hash to.
    await expectMlcycleError(store.getBytes(ref.uri), 'ARTIFACT_INTEGRITY');
  });

  it('reports a missing artifact as NOT_FOUND', async () => {
    const { store, prefix } = freshStore();
    const uri = `s3://${settings.bucket}/${contentKey(prefix, sha256(Buffer.from('never stored')))}`;
    expect(await store.exists(uri)).toBe(false);
    const err = await expectMlcycleError(store.getBytes(uri), 'NOT_FOUND');
    expect(err.message).toContain(uri);
  });

  it('fails putStream with the source error when the input breaks, leaving nothing staged', async () => {
    const { store } = freshStore();
    const broken = Readable.from(
      (async function* () {
        yield randomBytes(MiB);
        throw new Error('source went away');
      })(),
    );
    const err = await expectMlcycleError(store.putStream(broken), 'DATA_INVALID');
    expect(err.message).toContain('source went away');
    expect(await store.listNamed('')).toEqual([]);
  });

  it('creates a named object only once with ifNoneMatch', async () => {
    const { store, prefix } = freshStore();
    expect(await store.getNamed('registry/model.json')).toBeUndefined();

    const first = await store.putNamed('registry/model.json', '{"v":1}', {
      contentType: 'application/json',
      ifNoneMatch: true,
    });
    expect(first.created).toBe(true);
    expect(first.uri).toBe(`s3://${settings.bucket}/${prefix}registry/model.json`);
    expect(first.uri).toBe(store.uriForKey('registry/model.json'));
    expect(first.etag).toBeTruthy();

    const second = await store.putNamed('registry/model.json', '{"v":2}', { ifNoneMatch: true });
    expect(second).toEqual({ uri: first.uri, created: false });
    expect((await store.getNamed('registry/model.json'))?.toString()).toBe('{"v":1}');

    // Without the condition a named object is mutable.
    const third = await store.putNamed('registry/model.json', '{"v":3}');
    expect(third.created).toBe(true);
    expect((await store.getNamed('registry/model.json'))?.toString()).toBe('{"v":3}');
  });

  it('lists named keys across pages, relative to the store prefix', async () => {
    const { store } = freshStore({ listPageSize: 2 });
    const keys = ['runs/r1.json', 'runs/r2.json', 'runs/r3.json', 'runs/r4.json', 'runs/sub/r5.json'];
    await Promise.all(keys.map((k) => store.putNamed(k, k)));
    await store.putNamed('other/x.json', 'x');
    expect(await store.listNamed('runs/')).toEqual(keys);
    expect((await store.listNamed('')).sort()).toEqual([...keys, 'other/x.json'].sort());
    expect(await store.listNamed('nothing-here/')).toEqual([]);
  });

  it('names the service and endpoint when S3 is unreachable', async () => {
    const deadSettings: S3Settings = { ...settings, endpoint: 'http://127.0.0.1:1' };
    const dead = createS3Client(deadSettings);
    try {
      const err = await expectMlcycleError(checkS3Reachable(dead, deadSettings), 'SERVICE_UNREACHABLE');
      expect(err.message).toContain('S3 (MinIO)');
      expect(err.message).toContain('http://127.0.0.1:1');

      const store = createArtifactStore({ client: dead, bucket: settings.bucket });
      const putErr = await expectMlcycleError(store.putBytes('x'), 'SERVICE_UNREACHABLE');
      expect(putErr.message).toContain('http://127.0.0.1:1');
    } finally {
      dead.destroy();
    }
  });

  it('passes the reachability check against the real store, and explains rejected credentials', async () => {
    await checkS3Reachable(client, settings);
    // A missing bucket is not an unreachable store: ensureBucket would create it.
    await checkS3Reachable(client, { ...settings, bucket: `missing-${randomUUID().slice(0, 8)}` });

    const badSettings: S3Settings = {
      ...settings,
      credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret-value' },
    };
    const bad = createS3Client(badSettings);
    try {
      const err = await expectMlcycleError(checkS3Reachable(bad, badSettings), 'CONFIG_INVALID');
      expect(err.message).toContain('credentials');
      expect(err.message).toContain(settings.endpoint!);
    } finally {
      bad.destroy();
    }
  });

  it('ensureBucket is idempotent', async () => {
    const name = `it-bucket-${randomUUID().slice(0, 8)}`;
    await ensureBucket(client, name);
    await ensureBucket(client, name);
    await Promise.all([ensureBucket(client, name), ensureBucket(client, name)]);
  });
});
