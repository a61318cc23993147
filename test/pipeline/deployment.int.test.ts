import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { readDeploymentRecord } from '../../src/serving/deployment-record';
import { createPredictionServer, type PredictionServer } from '../../src/serving/prediction-server';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';
import { deploymentOwnerId } from '../../workflows/deployment';
import { startTraffic, type Traffic } from '../helpers/traffic';


describe('deployment: direct, canary promote, canary rollback', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let server: PredictionServer;
  let url: string;
  let traffic: Traffic | undefined;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
    const registry = createModelRegistry({ store: env.store });
    server = createPredictionServer({ store: env.store, registry, model: 'deploy-m', refreshMs: 200, log: () => undefined });
    url = (await server.start()).url;
    traffic = startTraffic(url, 5);
  });
  afterAll(async () => {
    await traffic?.stop();
    await server?.stop();
    await env?.close();
    await ws?.remove();
  });

  const specFor = (file: string, epochs: number, deploy: Record<string, unknown>) =>
    ws.spec(file, (d) => {
      d.name = 'deploy-m';
      d.train.params.epochs = epochs;
      delete d.evaluate.compareToChampion;
      d.deploy = deploy;
    });

  it('deploys directly, then a clean canary bake promotes, then a guardrail breach rolls back', async () => {
    const registry = createModelRegistry({ store: env.store });

    // v1: direct deployment, no approval gate (continuous deployment).
    const v1 = await waitForRun(env.client, (await env.client.startPipeline(await specFor('v1.yaml', 20, { alias: 'production', strategy: 'direct' }), { cache: false })).workflowId);
    expect(v1.status).toBe('completed');
    await captureHistory(env.client.temporal, v1.workflowId, 'deploy-direct');
    await captureHistory(env.client.temporal, deploymentOwnerId('deploy-m', 'production', `${env.queuePrefix}cpu`), 'direct');
    expect(await registry.getAliases('deploy-m')).toEqual({ production: 1 });
    await expect.poll(() => server.current().stable, { timeout: 10_000 }).toBe(1);

    // v2: canary with generous guardrails → both versions serve during the bake, then v2 is promoted.
    const canary = (rollbackIf: Record<string, number>) => ({
      alias: 'production',
      strategy: 'canary',
      canary: { percent: 50, bake: '4s', rollbackIf, serviceUrl: url, minRequests: 5 },
    });
    traffic!.served.clear();
    const v2 = await waitForRun(env.client, (await env.client.startPipeline(await specFor('v2.yaml', 30, canary({ errorRate: 0.5, p99LatencyMs: 10_000 })), { cache: false })).workflowId);
    expect(v2.error).toBeUndefined();
    expect(v2.status).toBe('completed');
    await captureHistory(env.client.temporal, v2.workflowId, 'deploy-canary-promoted');
    await captureHistory(env.client.temporal, deploymentOwnerId('deploy-m', 'production', `${env.queuePrefix}cpu`), 'canary-promoted');
    expect(v2.steps.find((s) => s.name === 'deploy')?.summary).toContain('canary baked 4s clean');
    expect(traffic!.served.get(1) ?? 0).toBeGreaterThan(0);
    expect(traffic!.served.get(2) ?? 0).toBeGreaterThan(0);
    expect(await registry.getAliases('deploy-m')).toEqual({ production: 2 });
    expect(await readDeploymentRecord(env.store, 'deploy-m', 'production')).toMatchObject({ stable: { version: 2 } });
    await expect.poll(() => server.current(), { timeout: 10_000 }).toEqual({ stable: 2 });

    // v3: a p99 guardrail no real request can meet → automatic rollback, v2 keeps serving.
    const v3 = await waitForRun(env.client, (await env.client.startPipeline(await specFor('v3.yaml', 40, canary({ p99LatencyMs: 0.0001 })), { cache: false })).workflowId);
    expect(v3.status).toBe('failed');
    await captureHistory(env.client.temporal, v3.workflowId, 'deploy-canary-rolled-back');
    await captureHistory(env.client.temporal, deploymentOwnerId('deploy-m', 'production', `${env.queuePrefix}cpu`), 'canary-rolled-back');
    expect(v3.error).toMatch(/rolled back.*guardrail breach: canary v3: p99 latency/);
    expect(await registry.getAliases('deploy-m')).toEqual({ production: 2 });
    const record = await readDeploymentRecord(env.store, 'deploy-m', 'production');
    expect(record?.stable.version).toBe(2);
    expect(record?.canary).toBeUndefined();
    await expect.poll(() => server.current(), { timeout: 10_000 }).toEqual({ stable: 2 });
    const rollbackEntry = (await registry.audit('deploy-m')).find((a) => a.action === 'canary-rollback');
    expect(rollbackEntry).toMatchObject({ version: 3, detail: expect.objectContaining({ restored: 2, reason: expect.stringContaining('p99 latency') }) });
  }, 180_000);
});
