import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../../src/client/run-status';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';

describe('training pipeline on the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create();
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('runs ingest → validate → train → evaluate → register and records lineage', async () => {
    const spec = await ws.spec('ok.yaml', (d) => {
      d.name = 'churn-ok';
    });
    const { workflowId } = await env.client.startPipeline(spec);
    const status = await waitForRun(env.client, workflowId);
    expect(status.error).toBeUndefined();
    expect(status.status).toBe('completed');
    expect(RunStatusSchema.parse(status)).toEqual(status);
    expect(status.steps.map((s) => [s.name, s.state, s.cached])).toEqual([
      ['ingest', 'completed', false],
      ['validate', 'completed', false],
      ['train', 'completed', false],
      ['evaluate', 'completed', false],
      ['register', 'completed', false],
    ]);
    expect(status.model).toEqual({ name: 'churn-ok', version: 1 });

    const registry = createModelRegistry({ store: env.store });
    const version = await registry.getVersion('churn-ok', 1);
    expect(version?.metrics.auc).toBeGreaterThan(0.75);
    expect(version?.lineage).toMatchObject({ workflowId, trainer: 'logistic-regression', params: { learningRate: 0.1, epochs: 50 } });
    expect(version?.lineage.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
    // The reports are real pages in the store, with the plots a person looks at.
    const html = (await env.store.getBytes(status.artifacts?.evaluationReport ?? '')).toString();
    expect(html).toContain('<svg');
    const validation = (await env.store.getBytes(status.artifacts?.validationReport ?? '')).toString();
    expect(validation).toContain('tenure_months');
    await captureHistory(env.client.temporal, workflowId, 'success');
  });

  it('reuses every cached step on a second identical run and registers nothing new', async () => {
    const spec = await ws.spec('cache.yaml', (d) => {
      d.name = 'churn-cache';
    });
    const first = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    expect(first.status).toBe('completed');
    const second = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    expect(second.status).toBe('completed');
    expect(second.steps.map((s) => s.cached)).toEqual([true, true, true, true, true]);
    expect(second.model).toEqual(first.model);
    await captureHistory(env.client.temporal, second.workflowId, 'cached');

    const third = await waitForRun(env.client, (await env.client.startPipeline(spec, { cache: false })).workflowId);
    expect(third.steps.map((s) => s.cached)).toEqual([false, false, false, false, false]);
  });

  it('fails validation with a report naming the column and rule, and registers nothing', async () => {
    const csv = (await fs.readFile(path.join(ws.dir, 'data', 'churn.csv'), 'utf8')).split('\n');
    // Corrupt one category value and one range.
    const header = (csv[0] ?? '').split(',');
    const planCol = header.indexOf('plan');
    const tenureCol = header.indexOf('tenure_months');
    const bad = csv.map((line, i) => {
      if (i === 0 || !line) return line;
      const cells = line.split(',');
      if (i % 50 === 0) cells[planCol] = 'gold';
      if (i % 70 === 0) cells[tenureCol] = '-3';
      return cells.join(',');
    });
    await ws.writeFile('data/bad.csv', bad.join('\n'));
    const spec = await ws.spec('bad.yaml', (d) => {
      d.name = 'churn-bad';
      d.data.source = 'file://data/bad.csv';
    });
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    await captureHistory(env.client.temporal, status.workflowId, 'validation-failed');
    expect(status.status).toBe('failed');
    expect(status.error).toContain('plan');
    expect(status.error).toContain('gold');
    expect(status.error).toContain('tenure_months');
    expect(status.steps.find((s) => s.name === 'validate')?.state).toBe('failed');
    expect(status.steps.find((s) => s.name === 'register')?.state).toBe('skipped');
    await expect(createModelRegistry({ store: env.store }).listVersions('churn-bad')).rejects.toThrow(/model "churn-bad" not found/);
  });

  it('fails the evaluation gate on a threshold miss, and registers nothing', async () => {
    const spec = await ws.spec('strict.yaml', (d) => {
      d.name = 'churn-strict';
      d.evaluate.thresholds = { auc: 0.999 };
    });
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    await captureHistory(env.client.temporal, status.workflowId, 'evaluation-gate-failed');
    expect(status.status).toBe('failed');
    expect(status.error).toMatch(/auc 0\.\d+ < threshold 0\.999/);
    expect(status.steps.find((s) => s.name === 'evaluate')?.state).toBe('failed');
    await expect(createModelRegistry({ store: env.store }).listVersions('churn-strict')).rejects.toThrow(/model "churn-strict" not found/);
  });

  it('fails with a message naming a missing source, without retrying', async () => {
    const spec = await ws.spec('missing.yaml', (d) => {
      d.name = 'churn-missing';
      d.data.source = 'file://data/nope.csv';
    });
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    await captureHistory(env.client.temporal, status.workflowId, 'ingest-failed');
    expect(status.status).toBe('failed');
    expect(status.error).toContain('nope.csv');
    expect(status.steps.find((s) => s.name === 'ingest')).toMatchObject({ state: 'failed' });
  });

  it('status of an unknown workflow id is a clear NOT_FOUND error', async () => {
    await expect(env.client.status('no-such-run')).rejects.toThrow(/no workflow run with id "no-such-run"/);
  });
});
