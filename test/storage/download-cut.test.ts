import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetryableCode, MlcycleError } from '../../src/errors';
import { createArtifactStore } from '../../src/storage/artifact-store';
import { createS3Client } from '../../src/storage/s3-client';

// An S3 endpoint whose GetObject answers 200 with a Content-Length and then drops the connection
// half-way through the body: what a reset or an overloaded store does to a large download.
let server: Server;
let endpoint: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '1048576' });
    res.write(Buffer.alloc(4096, 1), () => setTimeout(() => req.socket.destroy(), 20));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlcycle-download-cut-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('getToFile when the connection is cut mid-body', () => {
  it('fails as a retryable store failure (not a local write failure) and leaves no file behind', async () => {
    const client = createS3Client({ region: 'us-east-1', bucket: 'cut-bucket', prefix: '', endpoint, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    const store = createArtifactStore({ client, bucket: 'cut-bucket' });
    const target = path.join(dir, 'snapshot.parquet');
    const err = await store.getToFile('s3://cut-bucket/datasets/x.parquet', target).then(
      () => undefined,
      (e: unknown) => e,
    );
    client.destroy();
    expect(err).toBeInstanceOf(MlcycleError);
    const e = err as MlcycleError;
    expect(e.message).toContain('downloading s3://cut-bucket/datasets/x.parquet');
    expect(e.message).not.toContain(`writing ${target}`);
    expect(isRetryableCode(e.code), `${e.code}: ${e.message}`).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});
