import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseEnv } from '../src/config/env';
import { startLocalStack, type RunningStack } from '../src/stack/local-stack';
import { freePort } from '../src/stack/ports';
import type { TestStack } from './stack-context';

interface SharedStack {
  started: Promise<{ stack: RunningStack; dir: string; provided: TestStack }>;
  users: number;
}

// The integration and slow projects each load this file (vitest runs a project's global setup
// through that project's own module graph), but one run needs one stack: it lives on globalThis,
// shared by the projects of the run and stopped when the last of them tears down.
const SHARED = Symbol.for('mlcycle.test-stack');
const holder = globalThis as unknown as { [SHARED]?: SharedStack };

/**
 * One real Temporal dev server and one real MinIO for the whole run, on free loopback ports so a
 * developer's own `mlcycle dev` can keep running. Binaries come from the per-user cache, or are
 * built from their Go modules the first time. Only the projects that need services use it (see
 * vitest.config.ts): the unit project starts nothing.
 */
export async function setup(project: TestProject): Promise<void> {
  const shared = (holder[SHARED] ??= { started: startStack(), users: 0 });
  shared.users += 1;
  project.provide('stack', (await shared.started).provided);
}

async function startStack(): Promise<{ stack: RunningStack; dir: string; provided: TestStack }> {
  // Tests always get their own embedded services, whatever the developer's shell points at.
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', MLCYCLE_S3_PREFIX: '' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-test-stack-'));
  const stack = await startLocalStack({
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
  return {
    stack,
    dir,
    provided: {
      temporalAddress: stack.temporal.address,
      namespace: stack.temporal.namespace,
      s3: { endpoint: stack.s3.endpoint, region: stack.s3.region, bucket: stack.s3.bucket, ...creds },
      // Every integration test runs with payload encryption on, as production does.
      codecKeyFile: path.join(__dirname, 'fixtures', 'codec-keys.json'),
    },
  };
}

export async function teardown(): Promise<void> {
  const shared = holder[SHARED];
  if (!shared) return;
  shared.users -= 1;
  if (shared.users > 0) return;
  delete holder[SHARED];
  const { stack, dir } = await shared.started;
  await stack.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
