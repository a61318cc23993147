import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelRegistry } from '../../src/registry/model-registry';
import { readPredictionLogs } from '../../src/serving/prediction-log';
import { freePort } from '../../src/stack/ports';
import { waitForOutput } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { registerModel, requestRows, trainChurnModel } from './fixtures';

const DRIVER = path.join(__dirname, 'serve-driver.ts');

describe('mlcycle serve', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    const registry = createModelRegistry({ store: env.store });
    const version = await registerModel(env.store, registry, 'churn-cli', await trainChurnModel({ params: { epochs: 5 } }), 'cli-v1');
    await registry.setAlias('churn-cli', 'production', version, { actor: 'test' });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('serves until SIGTERM, then stops cleanly and flushes the prediction logs', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', DRIVER, 'serve', '--model', 'churn-cli', '--port', String(port)], {
      env: {
        ...process.env,
        MLCYCLE_S3_ENDPOINT: env.s3.endpoint,
        MLCYCLE_S3_BUCKET: env.s3.bucket,
        MLCYCLE_S3_REGION: env.s3.region,
        MLCYCLE_S3_PREFIX: env.s3.prefix,
        AWS_ACCESS_KEY_ID: env.s3.credentials!.accessKeyId,
        AWS_SECRET_ACCESS_KEY: env.s3.credentials!.secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const out = await waitForOutput(child, /^ready$/m, 60_000);
      expect(out).toContain(`serving churn-cli (production) at http://127.0.0.1:${port} v1`);
      const res = await fetch(`http://127.0.0.1:${port}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rows: requestRows(3).map((r) => ({ ...r, request_tag: 'cli' })) }),
      });
      expect(res.status).toBe(200);
      // The default flush interval is 2 s: stopping right away must still write the rows.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('stopped');
      const logged = (await readPredictionLogs(env.store, 'churn-cli')).filter((e) => e.inputs['request_tag'] === 'cli');
      expect(logged).toHaveLength(3);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a bad model name with exit status 2', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', DRIVER, 'serve', '--model', 'Not Valid'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('"Not Valid" is not a valid model name');
  });
});
