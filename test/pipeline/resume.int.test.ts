import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createMlcycleWorker } from '../../src/worker/worker';
import { NativeConnection } from '@temporalio/worker';
import { spawnCli, waitForOutput } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { TEST_PERMISSIONS } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import path from 'node:path';
import fs from 'node:fs/promises';
import YAML from 'yaml';
import { HOUSE_SCHEMA, PENGUIN_SCHEMA, taskSpec, writeHouses, writePenguins } from '../helpers/task-datasets';

const CHECKPOINT_EVERY = 10;

describe('a training worker killed mid-run', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    ws = await SpecWorkspace.create({ rows: 60_000 });
    await writePenguins(path.join(ws.dir, 'data', 'penguins.csv'), 10_000);
    await writeHouses(path.join(ws.dir, 'data', 'houses.csv'), 10_000);
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('is retried on another worker, which resumes binary, multiclass and regression training from the last checkpoint instead of epoch 0', async () => {
    const stack = inject('stack');
    const workerEnv = env.cliEnv;
    const victim = spawnCli(['worker', '--queue', 'cpu'], workerEnv);
    await waitForOutput(victim, /worker ready/, 60_000);

    // One run per task (binary, multiclass, regression), all on the victim worker.
    const long = { epochs: 600, maxDepth: 4, learningRate: 0.05, earlyStopping: false };
    const binary = await ws.spec('long.yaml', (d) => {
      d.name = 'churn-resume';
      d.train = { trainer: 'gradient-boosting', params: long, checkpointEvery: CHECKPOINT_EVERY };
      d.evaluate.thresholds = {};
    });
    const write = async (file: string, doc: Record<string, unknown>) => {
      await fs.writeFile(path.join(ws.dir, file), YAML.stringify(doc));
      return path.join(ws.dir, file);
    };
    const multiclass = await write('penguins-long.yaml', taskSpec({ name: 'penguins-resume', source: 'file://data/penguins.csv', target: 'species', schema: PENGUIN_SCHEMA, train: { trainer: 'gradient-boosting', params: long, checkpointEvery: CHECKPOINT_EVERY } }));
    const regression = await write('houses-long.yaml', taskSpec({ name: 'houses-resume', source: 'file://data/houses.csv', target: 'price', schema: HOUSE_SCHEMA, train: { trainer: 'gradient-boosting', params: long, checkpointEvery: CHECKPOINT_EVERY } }));
    const ids = await Promise.all([binary, multiclass, regression].map(async (s) => (await env.client.startPipeline(s)).workflowId));
    const workflowId = ids[0]!;

    // Wait until every run's recorded heartbeat is past two checkpoints, then kill the worker outright.
    let killedAt = 0;
    for (let i = 0; i < 1200 && !killedAt; i++) {
      const all = await Promise.all(ids.map((id) => env.client.status(id)));
      for (const s of all) if (s.status !== 'running') throw new Error(`run ended before the kill: ${JSON.stringify(s)}`);
      const done = all.map((s) => s.steps.find((x) => x.name === 'train')).map((t) => (t?.state === 'running' ? (t.progress?.done ?? 0) : 0));
      if (done.every((d) => d >= 2 * CHECKPOINT_EVERY)) {
        killedAt = Math.max(...done);
        victim.kill('SIGKILL');
      } else {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(killedAt).toBeGreaterThan(0);

    // A fresh worker picks up the retry once the heartbeat times out.
    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const rescuer = await createMlcycleWorker({ queue: 'cpu', queuePrefix: env.queuePrefix, connection, namespace: stack.namespace, s3: env.s3, keyring: env.keyring, permissions: TEST_PERMISSIONS, log: () => undefined });
    const running = rescuer.run();
    try {
      for (const id of ids) {
        const status = await waitForRun(env.client, id);
        expect(status.error, id).toBeUndefined();
        expect(status.status).toBe('completed');
        const train = status.steps.find((x) => x.name === 'train');
        // Three trainings share the rescuer's event loop; on a loaded machine one may miss a
        // heartbeat and take a third attempt, which resumes too.
        expect(train?.attempts).toBeGreaterThanOrEqual(2);
        expect(train?.resumedFrom).toBeGreaterThan(0);
        expect((train?.resumedFrom ?? 0) % CHECKPOINT_EVERY).toBe(0);
        // Attempt 2 resumes from a checkpoint of the killed attempt; a third attempt resumes from
        // the rescuer's own later checkpoints, so only the second is bounded by the kill.
        if (train?.attempts === 2) expect(train.resumedFrom).toBeLessThanOrEqual(killedAt + CHECKPOINT_EVERY * 3);
        expect(train?.summary).toContain('600 epochs');
      }
      expect(workflowId).toBe(ids[0]);
    } finally {
      rescuer.shutdown();
      await running;
      await connection.close();
    }
  }, 300_000);
});
