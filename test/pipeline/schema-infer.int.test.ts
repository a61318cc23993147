import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { writeCsv } from '../../src/demo/dataset-generator';
import { createModelRegistry } from '../../src/registry/model-registry';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';
import type { MonitorCheckResult } from '../../workflows/monitor';
import { runCliAsync } from '../helpers/cli';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

describe('schema: infer runs a whole pipeline on a CSV without a hand-written schema', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 50 });
    // Numbers, integers, booleans (yes/no), categories, dates as text and missing values; seeded.
    const rows = Array.from({ length: 1200 }, (_, i) => {
      const u = ((i * 7919) % 1000) / 1000;
      const plan = ['basic', 'pro', 'enterprise'][i % 3]!;
      const tenure = Math.round(u * 60);
      return {
        tenure_months: tenure,
        monthly_charges: i % 50 === 0 ? '' : (20 + u * 80).toFixed(2),
        plan,
        autopay: i % 4 === 0 ? 'no' : 'yes',
        signup_date: `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
        churned: tenure < 12 !== (i % 10 === 0) ? 'yes' : 'no',
      };
    });
    await writeCsv(path.join(ws.dir, 'data', 'inferred.csv'), rows);
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('ingest infers the schema, validation shows it marked inferred, the run completes and its monitor checks drift with that schema', async () => {
    const spec = await ws.spec('infer.yaml', (d) => {
      d.name = 'inferred';
      d.data = { source: 'file://data/inferred.csv', target: 'churned', schema: 'infer', split: { test: 0.2, seed: 42 } };
      d.evaluate = { metrics: ['auc', 'accuracy'], thresholds: { auc: 0.6 } };
      d.monitor = { every: '1h', window: '24h', source: 'file://data/inferred.csv', drift: { method: 'psi', threshold: 0.2, minSamples: 200 }, retrain: { onDrift: false, cooldown: '1h' } };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    const run = await waitForRun(env.client, workflowId);
    expect(run.status, JSON.stringify(run.error ?? run.steps)).toBe('completed');
    expect(run.model?.version).toBe(1);

    // The run's output: the ingest step names the inferred types.
    const ingest = run.steps.find((s) => s.name === 'ingest');
    expect(ingest?.summary).toContain('schema inferred: tenure_months integer, monthly_charges number, plan category(3), autopay boolean, signup_date string, churned boolean');
    const status = await runCliAsync(['status', workflowId], env.cliEnv);
    expect(status.stdout).toContain('schema inferred: tenure_months integer');

    // The validation report (JSON and page) carries the schema used, every column marked inferred.
    const report = await env.store.getJson<{ schemaInferred: boolean; schema: Record<string, { type: string; values?: string[] }> }>(run.artifacts!.validationJson!);
    expect(report.schemaInferred).toBe(true);
    expect(report.schema.plan).toMatchObject({ type: 'category', values: ['basic', 'enterprise', 'pro'] });
    expect(report.schema.autopay?.type).toBe('boolean');
    expect(report.schema.monthly_charges?.type).toBe('number');
    const page = (await env.store.getBytes(run.artifacts!.validationReport!)).toString();
    expect(page).toContain('<h2>Schema</h2>');
    expect(page).toContain('data.schema: infer');
    const marked: Array<[string, string]> = [['tenure_months', 'number'], ['plan', 'category'], ['autopay', 'boolean'], ['signup_date', 'string'], ['churned (target)', 'boolean']];
    for (const [name, type] of marked) {
      expect(page).toMatch(new RegExp(`<tr><td>${name.replace(/[()]/g, '\\$&')}</td><td>${type}</td><td>[^<]*</td><td class="inferred">inferred</td></tr>`));
    }
    expect(page).toContain('values: basic, enterprise, pro');

    // The monitor of a `schema: infer` spec takes the schema stored with the dataset version: every
    // inferred feature (not the string column) is compared, the same data does not drift.
    await createModelRegistry({ store: env.store }).setAlias('inferred', 'production', 1, { actor: 'test' });
    const loaded = await loadPipelineSpec(spec);
    const check = await env.client.temporal.workflow.execute<(input: unknown) => Promise<MonitorCheckResult>>('monitorCheck', {
      taskQueue: `${env.queuePrefix}cpu`,
      workflowId: 'inferred-check',
      args: [{ model: 'inferred', monitor: loaded.spec.monitor!, retrain: env.client.pipelineInput(loaded, { cache: false }) }],
    });
    expect(check).toMatchObject({ verdict: 'no_drift', samples: 1200, drifted: [], missing: [] });
    const driftReport = await env.store.getJson<{ raw: { features: Array<{ feature: string; status: string }> } }>(check.reportUri!);
    expect(driftReport.raw.features.map((f) => [f.feature, f.status])).toEqual([
      ['tenure_months', 'no_drift'],
      ['monthly_charges', 'no_drift'],
      ['plan', 'no_drift'],
      ['autopay', 'no_drift'],
    ]);
  }, 240_000);
});
