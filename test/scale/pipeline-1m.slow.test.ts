/**
 * Acceptance at scale: a seeded 1M-row × 20-feature CSV runs the whole pipeline to `completed` with
 * both built-in trainers and the default settings, and a worker killed while it loads the snapshot
 * for training is replaced by a retry on a fresh worker, the killed process gone for good.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { scaleSchema, writeScaleCsv } from '../helpers/scale-data';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-processes';

// MLCYCLE_SCALE_ROWS shrinks the table to check the mechanics quickly; the acceptance run is 1M.
const ROWS = Number(process.env.MLCYCLE_SCALE_ROWS ?? 1_000_000);

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('1M rows × 20 features through the whole pipeline', () => {
  let env: TestEnv;
  let dir: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-1m-'));
    await writeScaleCsv(path.join(dir, 'big.csv'), { rows: ROWS, seed: 11 });
  });
  afterAll(async () => {
    for (const w of workers) if (w.alive()) w.child.kill('SIGKILL');
    await env?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function writeSpec(name: string, trainer: string): Promise<string> {
    const file = path.join(dir, `${name}.yaml`);
    const doc = {
      apiVersion: 'mlcycle/v1',
      name,
      data: { source: 'file://big.csv', target: 'label', schema: scaleSchema(20) },
      validation: { minRows: 1000 },
      train: { trainer },
      evaluate: { metrics: ['auc', 'accuracy'] },
    };
    await fs.writeFile(file, YAML.stringify(doc));
    return file;
  }

  it('completes with logistic regression and gradient boosting; a worker killed while loading the snapshot is retried elsewhere', async () => {
    const first = await startWorkerProcess('cpu', env.cliEnv);
    workers.push(first);
    const lr = await env.client.startPipeline(await writeSpec('scale-lr', 'logistic-regression'));
    const gb = await env.client.startPipeline(await writeSpec('scale-gb', 'gradient-boosting'));

    // Kill the worker while the training step loads the snapshot (running, no epoch reported yet).
    let killed = false;
    for (let i = 0; i < 2400 && !killed; i++) {
      const s = await env.client.status(lr.workflowId);
      if (s.status !== 'running') throw new Error(`run ended before the kill: ${JSON.stringify(s)}`);
      const train = s.steps.find((x) => x.name === 'train');
      if (train?.state === 'running' && train.progress === undefined) {
        first.child.kill('SIGKILL');
        killed = true;
      } else {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(killed).toBe(true);
    await first.exited;
    const second = await startWorkerProcess('cpu', env.cliEnv);
    workers.push(second);

    const [a, b] = await Promise.all([waitForRun(env.client, lr.workflowId), waitForRun(env.client, gb.workflowId)]);
    for (const status of [a, b]) {
      expect(status.error).toBeUndefined();
      expect(status.status).toBe('completed');
      expect(status.steps.find((x) => x.name === 'ingest')?.summary).toMatch(new RegExp(`^${ROWS} rows`));
    }
    // The killed attempt is not running anywhere: its process is gone, and the retry was attempt 2+.
    expect(processGone(first.pid)).toBe(true);
    expect(a.steps.find((x) => x.name === 'train')?.attempts).toBeGreaterThanOrEqual(2);
    const evaluation = await env.store.getJson<{ split: { train: number; validation: number; test: number } }>(a.artifacts!.evaluationJson!);
    expect(evaluation.split).toMatchObject({ train: ROWS * 0.72, validation: ROWS * 0.08, test: ROWS * 0.2 });
  }, 900_000);
});
