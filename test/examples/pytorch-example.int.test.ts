import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApprovers } from '../helpers/approvers';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { createPredictionServer } from '../../src/serving/prediction-server';
import { startTestEnv, type TestEnv, TEST_PERMISSIONS } from '../helpers/test-env';
import { until } from '../helpers/until';
import { exampleCopy, usePythonVenv } from './python-env';

const run = promisify(execFile);

/**
 * The PyTorch example on the gpu queue, SIGKILLed mid-training, resumes from its last checkpoint;
 * the resumed model is scored, registered, deployed and served. Runs by default (CI included);
 * MLCYCLE_TORCH_EXAMPLE=0 skips it on a machine without room for PyPI's torch wheel and its CUDA
 * libraries (about 5 GB in .venv/torch).
 */
describe.skipIf(process.env.MLCYCLE_TORCH_EXAMPLE === '0')('the PyTorch example', () => {
  let env: TestEnv;
  let approverKeys: Map<string, KeyObject>;
  let python: string;
  let dir: string;

  const visibleBefore = process.env.CUDA_VISIBLE_DEVICES;
  beforeAll(async () => {
    python = await usePythonVenv('torch', 'python/requirements-torch.txt');
    // The gpu worker believes it has devices 2 and 3 (no GPU here): it must pin the trainer to one.
    process.env.CUDA_VISIBLE_DEVICES = '2,3';
    // The examples' specs run `python` (the venv's, first on PATH): this suite's workers allow it.
    env = await startTestEnv({ permissions: { ...TEST_PERMISSIONS, allowedCommands: ['node', 'python'] } });
    // The examples' specs list alice as an approver; her vote is signed with a registered key.
    approverKeys = await registerApprovers(env.store, ['alice']);
  });
  afterAll(async () => {
    if (visibleBefore === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = visibleBefore;
    await env?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** The example's python process, a child of this process (the in-process worker spawned it). */
  async function trainerPid(): Promise<number | undefined> {
    const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
    const line = stdout.split('\n').find((l) => l.includes('train.py'));
    return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
  }

  it('on the gpu queue, killed mid-training, resumes from its last checkpoint and serves', async () => {
    dir = await exampleCopy(python, 'pytorch-mlp');
    const specPath = path.join(dir, 'pipeline.yaml');
    const doc = YAML.parse(await fs.readFile(specPath, 'utf8')) as Record<string, any>;
    doc.train.params = { ...doc.train.params, epochs: 12, sleep_per_epoch: 0.5 };
    await fs.writeFile(specPath, YAML.stringify(doc));
    const { workflowId } = await env.client.startPipeline(specPath, { cache: false });

    // After a few checkpointed epochs, SIGKILL the training program itself.
    const killedAt = await until('3 checkpointed epochs', async () => {
      const s = await env.client.status(workflowId);
      if (s.status !== 'running') throw new Error(`run ended before the kill: ${JSON.stringify(s)}`);
      const done = s.steps.find((x) => x.name === 'train')?.progress?.done ?? 0;
      if (done < 3) return undefined;
      const pid = await trainerPid();
      if (!pid) return undefined;
      process.kill(pid, 'SIGKILL');
      return done;
    }, 180_000);

    const gate = await until('the gate', async () => {
      const s = await env.client.status(workflowId);
      return s.status === 'running' ? undefined : s.status;
    }, 240_000);
    expect(gate).toBe('awaiting_approval');
    await env.client.decide(workflowId, { decision: 'approve', approver: 'alice' }, approverKeys.get('alice')!);
    const status = await waitForRun(env.client, workflowId);
    expect(status.error).toBeUndefined();
    const train = status.steps.find((s) => s.name === 'train')!;
    expect(train.attempts).toBeGreaterThanOrEqual(2);
    expect(train.resumedFrom).toBeGreaterThan(0);
    expect(train.resumedFrom).toBeLessThanOrEqual(killedAt + 1);

    // Routed to the gpu queue and pinned to a device there.
    const history = await env.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const queues = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes).filter(Boolean).map((a) => [a!.activityType?.name, a!.taskQueue?.name]);
    expect(queues).toContainEqual(['trainModel', `${env.queuePrefix}gpu`]);
    const registry = createModelRegistry({ store: env.store });
    const version = (await registry.getVersion('pytorch-mlp', 1))!;
    const report = await env.store.getJson<{ scoredFrom: string; trainingMetrics: Record<string, number> }>(version.reports.evaluationJson!);
    expect(report.scoredFrom).toBe('onnx');
    expect([2, 3]).toContain(report.trainingMetrics.gpu_device);
    expect(report.trainingMetrics.gpu_devices_visible).toBe(1);
    expect(version.metrics.auc).toBeGreaterThan(0.65);

    const server = createPredictionServer({ store: env.store, registry, model: 'pytorch-mlp', refreshMs: 200, log: () => undefined });
    const { url } = await server.start();
    try {
      await expect.poll(() => server.current().stable, { timeout: 20_000 }).toBe(1);
      const res = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [{ amount: 900, hour: 3, distance_km: 150, merchant_risk: 0.6, card_age_days: 20, foreign: true }] }),
      });
      expect(res.status).toBe(200);
      const p = ((await res.json()) as { predictions: Array<{ probability: number }> }).predictions[0]!.probability;
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    } finally {
      await server.stop();
    }
  });
});
