import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseEnv } from '../src/config/env';
import { startLocalStack, type RunningStack } from '../src/stack/local-stack';
import { freePort } from '../src/stack/ports';
import './stack-context';

let stack: RunningStack | undefined;
let dir: string | undefined;

/**
 * One real Temporal dev server and one real MinIO for the whole run, on free loopback ports so a
 * developer's own `mlcycle dev` can keep running. Binaries come from the per-user cache, or are
 * built from their Go modules the first time.
 */
export async function setup(project: TestProject): Promise<void> {
  // Tests always get their own embedded services, whatever the developer's shell points at.
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', MLCYCLE_S3_PREFIX: '' });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-test-stack-'));
  stack = await startLocalStack({
    env,
    stateDir: dir,
    ui: false,
    temporalPort: await freePort(),
    minioPort: await freePort(),
    minioConsolePort: await freePort(),
    log: (l) => process.stderr.write(`[stack] ${l}\n`),
  });
  const creds = stack.s3.credentials;
  if (!creds || !stack.s3.endpoint) throw new Error('embedded MinIO did not start');
  project.provide('stack', {
    temporalAddress: stack.temporal.address,
    namespace: stack.temporal.namespace,
    s3: { endpoint: stack.s3.endpoint, region: stack.s3.region, bucket: stack.s3.bucket, ...creds },
    // Every integration test runs with payload encryption on, as production does.
    codecKeyFile: path.join(__dirname, 'fixtures', 'codec-keys.json'),
  });
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}
