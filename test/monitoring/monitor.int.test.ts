import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMonitor } from '../../src/client/monitor-schedules';
import { waitForRun } from '../../src/client/wait-for-run';
import { writeDemoDataset } from '../../src/demo/demo-data';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';
import { createPredictionServer } from '../../src/serving/prediction-server';
import { createModelRegistry } from '../../src/registry/model-registry';
import { generateChurnDataset } from '../../src/demo/dataset-generator';
import type { MonitorCheckInput, MonitorCheckResult } from '../../workflows/monitor';
import { runCliAsync } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';

describe('monitoring and continuous training on the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let hook: http.Server;
  const alerts: Array<{ id: string; event: string }> = [];
  let webhook: string;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 2000 });
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as { id: string; event: string });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    await writeDemoDataset(path.join(ws.dir, 'data', 'same.csv'), { rows: 1500, seed: 99 });
    await writeDemoDataset(path.join(ws.dir, 'data', 'drifted.csv'), { rows: 1500, seed: 98, drift: 1 });
    await writeDemoDataset(path.join(ws.dir, 'data', 'tiny.csv'), { rows: 50, seed: 97, drift: 1 });
  });
  afterAll(async () => {
    hook?.close();
    await env?.close();
    await ws?.remove();
  });

  const specWith = (file: string, source: string, extra: Record<string, unknown> = {}) =>
    ws.spec(file, (d) => {
      d.name = 'mon';
      delete d.evaluate.compareToChampion;
      d.deploy = { alias: 'production', strategy: 'direct' };
      d.monitor = { every: '1h', window: '24h', ...(source ? { source } : {}), drift: { method: 'psi', threshold: 0.2, minSamples: 200 }, retrain: { onDrift: true, cooldown: '1h' }, notify: { webhook }, ...extra };
    });

  async function check(specFile: string, id: string): Promise<MonitorCheckResult> {
    const loaded = await loadPipelineSpec(specFile);
    const input: MonitorCheckInput = { model: 'mon', monitor: loaded.spec.monitor!, retrain: env.client.pipelineInput(loaded, { cache: false }) };
    return env.client.temporal.workflow.execute('monitorCheck', { taskQueue: `${env.queuePrefix}cpu`, workflowId: `mon-check-${id}`, args: [input] });
  }

  it('no drift → no alert, no retrain; drift → one alert and one retrain; cooldown stops a second; too few rows is not an alarm', async () => {
    const deployed = await waitForRun(env.client, (await env.client.startPipeline(await specWith('deploy.yaml', 'file://data/same.csv'), { cache: false })).workflowId);
    expect(deployed.status).toBe('completed');

    const calm = await check(await specWith('calm.yaml', 'file://data/same.csv'), 'calm');
    expect(calm.verdict).toBe('no_drift');
    expect(calm.alerted).toBe(false);
    expect(calm.retrain.started).toBe(false);
    expect(alerts).toHaveLength(0);
    await captureHistory(env.client.temporal, 'mon-check-calm', 'no-drift');

    const stormy = await check(await specWith('storm.yaml', 'file://data/drifted.csv'), 'storm');
    expect(stormy.verdict).toBe('drift');
    expect(stormy.drifted.length).toBeGreaterThan(0);
    expect(stormy.labelShift?.drifted).toBe(true);
    expect(stormy.alerted).toBe(true);
    expect(stormy.retrain).toMatchObject({ started: true, workflowId: 'mon-retrain' });
    expect(alerts.map((a) => a.id)).toEqual(['mon-check-storm/alert']);
    const html = (await env.store.getBytes(stormy.htmlUri ?? '')).toString();
    expect(html).toContain('<svg');
    const retrained = await waitForRun(env.client, 'mon-retrain');
    expect(retrained.status).toBe('completed');
    expect(retrained.model?.version).toBe(2);
    await captureHistory(env.client.temporal, 'mon-check-storm', 'drift-retrain');
    await captureHistory(env.client.temporal, 'mon-retrain', 'retrain');

    const again = await check(await specWith('storm2.yaml', 'file://data/drifted.csv'), 'storm-2');
    expect(again.verdict).toBe('drift');
    expect(again.retrain.started).toBe(false);
    expect(again.retrain.reason).toMatch(/cooldown/);
    await captureHistory(env.client.temporal, 'mon-check-storm-2', 'drift-cooldown');

    const tiny = await check(await specWith('tiny.yaml', 'file://data/tiny.csv'), 'tiny');
    expect(tiny.verdict).toBe('insufficient_data');
    expect(tiny.alerted).toBe(false);
    await captureHistory(env.client.temporal, 'mon-check-tiny', 'insufficient-data');

    // The default path: the window of prediction logs the serving process wrote.
    const server = createPredictionServer({ store: env.store, registry: createModelRegistry({ store: env.store }), model: 'mon', log: () => undefined });
    const { url } = await server.start();
    const drifted = generateChurnDataset({ rows: 400, seed: 5, drift: 1 }).map(({ churned: _label, ...features }) => features);
    for (let i = 0; i < drifted.length; i += 100) {
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: drifted.slice(i, i + 100) }) });
      expect(res.status).toBe(200);
    }
    await server.stop();
    const fromLogs = await check(await specWith('logs.yaml', '', { source: undefined, retrain: { onDrift: false, cooldown: '1h' } }), 'logs');
    expect(fromLogs.samples).toBe(400);
    expect(fromLogs.verdict).toBe('drift');
    expect(fromLogs.drifted).toEqual(expect.arrayContaining(['tenure_months']));
    expect(fromLogs.predictionShift).toBeDefined();
    await captureHistory(env.client.temporal, 'mon-check-logs', 'prediction-logs-no-retrain');
  }, 240_000);

  it('the CLI manages the schedule: start, trigger, pause, resume, status', async () => {
    const cliEnv = env.cliEnv;
    const spec = await specWith('sched.yaml', 'file://data/same.csv', { retrain: { onDrift: false, cooldown: '1h' } });
    expect((await runCliAsync(['monitor', 'start', 'mon', '--spec', spec], cliEnv)).code).toBe(0);
    expect((await runCliAsync(['monitor', 'pause', 'mon'], cliEnv)).code).toBe(0);
    expect((await describeMonitor(env.client.temporal, 'mon')).paused).toBe(true);
    expect((await runCliAsync(['monitor', 'resume', 'mon'], cliEnv)).code).toBe(0);
    expect((await describeMonitor(env.client.temporal, 'mon')).paused).toBe(false);
    expect((await runCliAsync(['monitor', 'trigger', 'mon'], cliEnv)).code).toBe(0);
    await expect.poll(async () => (await describeMonitor(env.client.temporal, 'mon')).recentChecks.length, { timeout: 30_000 }).toBeGreaterThan(0);
    const status = await runCliAsync(['monitor', 'status', 'mon', '--json'], cliEnv);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ paused: false, latest: { verdict: 'no_drift' } });
    const unknown = await runCliAsync(['monitor', 'status', 'nope'], cliEnv);
    expect(unknown.stderr).toContain('no monitor for model "nope"');
    await env.client.temporal.schedule.getHandle('monitor-mon').delete();
  }, 180_000);
});
