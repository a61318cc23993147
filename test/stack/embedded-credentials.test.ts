import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_FILE, ensureEmbeddedCredentials, readEmbeddedCredentials } from '../../src/stack/embedded-credentials';
import { EMBEDDED_S3_CREDENTIALS, parseEnv, s3Settings } from '../../src/config/env';

describe('embedded MinIO credentials', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-creds-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('are generated per state folder, owner-only, in an owner-only folder, and stable across starts', () => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    fs.mkdirSync(b, { mode: 0o755 });
    fs.chmodSync(b, 0o755);
    const first = ensureEmbeddedCredentials(a);
    const other = ensureEmbeddedCredentials(b);
    expect(first.secretAccessKey).not.toBe(other.secretAccessKey);
    expect(first.secretAccessKey).not.toBe(EMBEDDED_S3_CREDENTIALS.secretAccessKey);
    expect(ensureEmbeddedCredentials(a)).toEqual(first);
    for (const dir of [a, b]) {
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(dir, CREDENTIALS_FILE)).mode & 0o777).toBe(0o600);
    }
    // Clients of that folder find them.
    expect(s3Settings(parseEnv({ MLCYCLE_STATE_DIR: a }), 'http://127.0.0.1:9000').credentials).toEqual(first);
  });

  it('keep the values an existing MinIO data folder was created with', () => {
    const old = path.join(root, 'old');
    fs.mkdirSync(path.join(old, 'minio'), { recursive: true });
    expect(ensureEmbeddedCredentials(old)).toEqual(EMBEDDED_S3_CREDENTIALS);
    expect(readEmbeddedCredentials(path.join(root, 'none'))).toBeUndefined();
  });
});
