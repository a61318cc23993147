import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../../src/client/run-status';
import { waitForRun } from '../../src/client/wait-for-run';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

const SPEC = (source: string) => `apiVersion: mlcycle/v1
name: slice-test
data:
  source: ${source}
  target: y
  schema:
    x: { type: number }
    y: { type: boolean }
train:
  trainer: logistic-regression
`;

describe('pipeline slice on the real stack', () => {
  let env: TestEnv;
  let dir: string;

  beforeAll(async () => {
    env = await startTestEnv();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-slice-'));
    await fs.mkdir(path.join(dir, 'data'));
    const rows = ['x,y', ...Array.from({ length: 200 }, (_, i) => `${i},${i % 3 === 0}`)];
    await fs.writeFile(path.join(dir, 'data', 'd.csv'), rows.join('\n'));
    await fs.writeFile(path.join(dir, 'spec.yaml'), SPEC('file://data/d.csv'));
    await fs.writeFile(path.join(dir, 'missing.yaml'), SPEC('file://data/nope.csv'));
  });
  afterAll(async () => {
    await env?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('ingests the dataset into MinIO and reports only its reference', async () => {
    const { workflowId } = await env.client.startPipeline(path.join(dir, 'spec.yaml'));
    const status = await waitForRun(env.client, workflowId);
    expect(RunStatusSchema.parse(status)).toEqual(status);
    expect(status.status).toBe('completed');
    const ingest = status.steps.find((s) => s.name === 'ingest');
    expect(ingest).toMatchObject({ state: 'completed', attempts: 1 });
    const uri = status.artifacts?.dataset ?? '';
    expect(uri).toMatch(/^s3:\/\/mlcycle\/test-[0-9a-f]+\/artifacts\/sha256\//);
    const stored = await env.store.getBytes(uri);
    expect(stored.equals(await fs.readFile(path.join(dir, 'data', 'd.csv')))).toBe(true);

    // Only the reference travels through history, never the bytes.
    const history = await env.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    expect(JSON.stringify(history)).not.toContain('199,false');
  });

  it('fails with a message naming the missing source, without retrying', async () => {
    const { workflowId } = await env.client.startPipeline(path.join(dir, 'missing.yaml'));
    const status = await waitForRun(env.client, workflowId);
    expect(status.status).toBe('failed');
    expect(status.error).toContain('nope.csv');
    expect(status.steps.find((s) => s.name === 'ingest')?.state).toBe('failed');
  });

  it('status of an unknown workflow id is a clear NOT_FOUND error', async () => {
    await expect(env.client.status('no-such-run')).rejects.toThrow(/no workflow run with id "no-such-run"/);
  });
});
