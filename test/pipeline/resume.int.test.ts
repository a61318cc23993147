import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createMlcycleWorker } from '../../src/worker/worker';
import { NativeConnection } from '@temporalio/worker';
import { spawnCli, waitForOutput } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';

const CHECKPOINT_EVERY = 10;

describe('a training worker killed mid-run', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    ws = await SpecWorkspace.create({ rows: 60_000 });
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('is retried on another worker, which resumes from the last checkpoint instead of epoch 0', async () => {
    const stack = inject('stack');
    const workerEnv = env.cliEnv;
    const victim = spawnCli(['worker', '--queue', 'cpu'], workerEnv);
    await waitForOutput(victim, /worker ready/, 60_000);

    const spec = await ws.spec('long.yaml', (d) => {
      d.name = 'churn-resume';
      d.train = { trainer: 'gradient-boosting', params: { epochs: 600, maxDepth: 4, learningRate: 0.05, earlyStopping: false }, checkpointEvery: CHECKPOINT_EVERY };
      d.evaluate.thresholds = {};
    });
    const { workflowId } = await env.client.startPipeline(spec);

    // Wait until the recorded heartbeat is past two checkpoints, then kill the worker outright.
    let killedAt = 0;
    for (let i = 0; i < 600 && !killedAt; i++) {
      const s = await env.client.status(workflowId);
      const train = s.steps.find((x) => x.name === 'train');
      if (s.status !== 'running') throw new Error(`run ended before the kill: ${JSON.stringify(s)}`);
      if (train?.state === 'running' && (train.progress?.done ?? 0) >= 2 * CHECKPOINT_EVERY) {
        killedAt = train.progress?.done ?? 0;
        victim.kill('SIGKILL');
      } else {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(killedAt).toBeGreaterThan(0);

    // A fresh worker picks up the retry once the heartbeat times out.
    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const rescuer = await createMlcycleWorker({ queue: 'cpu', queuePrefix: env.queuePrefix, connection, namespace: stack.namespace, s3: env.s3, keyring: env.keyring, log: () => undefined });
    const running = rescuer.run();
    try {
      const status = await waitForRun(env.client, workflowId);
      expect(status.error).toBeUndefined();
      expect(status.status).toBe('completed');
      const train = status.steps.find((x) => x.name === 'train');
      expect(train?.attempts).toBe(2);
      expect(train?.resumedFrom).toBeGreaterThan(0);
      expect((train?.resumedFrom ?? 0) % CHECKPOINT_EVERY).toBe(0);
      expect(train?.resumedFrom).toBeLessThanOrEqual(killedAt + CHECKPOINT_EVERY * 3);
      expect(train?.summary).toContain('600 epochs');
    } finally {
      rescuer.shutdown();
      await running;
      await connection.close();
    }
  }, 300_000);
});
