import { describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { MlcycleError } from '../../src/errors';
import { contentKey, createArtifactStore, parseS3Uri } from '../../src/storage/artifact-store';

const SHA = 'ab' + 'cdef0123456789'.repeat(4) + '0123456789abcdef0123456789ab'.slice(0, 6);

function expectUsage(fn: () => unknown, mentions: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MlcycleError);
    expect((err as MlcycleError).code).toBe('USAGE');
    expect((err as MlcycleError).message).toContain(mentions);
    return;
  }
  throw new Error('expected a USAGE error');
}

describe('contentKey', () => {
  it('fans out by the first two hex digits', () => {
    expect(SHA).toMatch(/^[0-9a-f]{64}$/);
    expect(contentKey('', SHA)).toBe(`artifacts/sha256/ab/${SHA}`);
  });

  it('puts the store prefix first, adding a missing trailing slash', () => {
    expect(contentKey('team-a/', SHA)).toBe(`team-a/artifacts/sha256/ab/${SHA}`);
    expect(contentKey('team-a/x/', SHA)).toBe(`team-a/x/artifacts/sha256/ab/${SHA}`);
    expect(contentKey('team-a', SHA)).toBe(`team-a/artifacts/sha256/ab/${SHA}`);
  });

  it('rejects anything that is not a lowercase sha256 hex digest', () => {
    expectUsage(() => contentKey('', 'abc'), 'abc');
    expectUsage(() => contentKey('', SHA.toUpperCase()), SHA.toUpperCase());
    expectUsage(() => contentKey('', `${SHA}0`), 'sha256');
    expectUsage(() => contentKey('/abs/', SHA), '/abs/');
  });
});

describe('parseS3Uri', () => {
  it('splits bucket and key', () => {
    expect(parseS3Uri('s3://mlcycle/a.txt')).toEqual({ bucket: 'mlcycle', key: 'a.txt' });
    expect(parseS3Uri(`s3://my.bucket-1/p/artifacts/sha256/ab/${SHA}`)).toEqual({
      bucket: 'my.bucket-1',
      key: `p/artifacts/sha256/ab/${SHA}`,
    });
    expect(parseS3Uri('s3://b12/dir/with spaces/x=1')).toEqual({ bucket: 'b12', key: 'dir/with spaces/x=1' });
  });

  it.each([
    ['', 'missing everything'],
    ['mlcycle/key', 'no scheme'],
    ['s3:/mlcycle/key', 'one slash'],
    ['http://mlcycle/key', 'wrong scheme'],
    ['s3://mlcycle', 'no key'],
    ['s3://mlcycle/', 'empty key'],
    ['s3:///key', 'empty bucket'],
    ['s3://Upper/key', 'invalid bucket name'],
    ['s3://ab/key', 'bucket name too short'],
  ])('rejects %j (%s) with a USAGE error naming the URI', (uri) => {
    expectUsage(() => parseS3Uri(uri), `"${uri}"`);
  });
});

describe('createArtifactStore (no network)', () => {
  // Never sends: only the pure helpers are used.
  const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true });

  it('builds URIs for named keys under the store prefix', () => {
    const store = createArtifactStore({ client, bucket: 'mlcycle', prefix: 'team-a/' });
    expect(store.uriForKey('registry/model-a.json')).toBe('s3://mlcycle/team-a/registry/model-a.json');
    expect(createArtifactStore({ client, bucket: 'mlcycle' }).uriForKey('x.json')).toBe('s3://mlcycle/x.json');
  });

  it('reports a missing local file as NOT_FOUND before touching the store', async () => {
    const store = createArtifactStore({ client, bucket: 'mlcycle' });
    const err = await store.putFile('/nonexistent/mlcycle/model.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlcycleError);
    expect((err as MlcycleError).code).toBe('NOT_FOUND');
    expect((err as MlcycleError).message).toContain('/nonexistent/mlcycle/model.bin');
  });

  it.each(['', '/abs', 'a//b', 'a/../b', './a', 'a/'])('rejects the named key %j', (key) => {
    const store = createArtifactStore({ client, bucket: 'mlcycle', prefix: 'p/' });
    expectUsage(() => store.uriForKey(key), `"${key}"`);
  });
});
