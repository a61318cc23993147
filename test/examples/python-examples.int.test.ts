import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApprovers } from '../helpers/approvers';
import { loadSnapshotSplits } from '../../activities/dataset-loader';
import { tableRows } from '../../src/data/columnar-load';
import type { DatasetRef, DriftCheckResult } from '../../workflows/pipeline-types';
import type { ActivityDeps } from '../../activities/deps';
import { scoreCommandModel } from '../../activities/evaluate-command';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { createPredictionServer, type PredictionServer } from '../../src/serving/prediction-server';
import { loadPipelineSpec, parsePipelineSpec, type PipelineSpec } from '../../src/spec/pipeline-spec';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMonitorActivities } from '../../activities/monitor';
import { resolveTask } from '../../src/training/task-type';
import { startTestEnv, type TestEnv, TEST_PERMISSIONS } from '../helpers/test-env';
import { until } from '../helpers/until';
import { exampleCopy, usePythonVenv } from './python-env';

/**
 * The Python examples end to end on the real stack: train (the example's own train.py through the
 * trainer kit) → independent evaluation from the ONNX model → register → approval → deploy →
 * /predict on the served ONNX model.
 */
describe('Python trainer examples', () => {
  let env: TestEnv;
  let approverKeys: Map<string, KeyObject>;
  let python: string;
  let server: PredictionServer | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    python = await usePythonVenv();
    // The examples' specs run `python` (the venv's, first on PATH): this suite's workers allow it.
    env = await startTestEnv({ permissions: { ...TEST_PERMISSIONS, allowedCommands: ['node', 'python'] } });
    // The examples' specs list alice as an approver; her vote is signed with a registered key.
    approverKeys = await registerApprovers(env.store, ['alice']);
  });
  afterAll(async () => {
    await server?.stop();
    await env?.close();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  const registry = () => createModelRegistry({ store: env.store });

  async function example(name: string, edit: (doc: Record<string, any>) => void = () => undefined): Promise<{ dir: string; specPath: string }> {
    const dir = await exampleCopy(python, name);
    dirs.push(dir);
    const specPath = path.join(dir, 'pipeline.yaml');
    const doc = YAML.parse(await fs.readFile(specPath, 'utf8')) as Record<string, any>;
    edit(doc);
    await fs.writeFile(specPath, YAML.stringify(doc));
    return { dir, specPath };
  }

  /** Runs a spec; approves at the gate (as alice) when it gets there. */
  async function runApproved(specPath: string) {
    const { workflowId } = await env.client.startPipeline(specPath, { cache: false });
    const gate = await until('the gate or the end', async () => {
      const s = await env.client.status(workflowId);
      return s.status === 'running' ? undefined : s.status;
    }, 240_000);
    if (gate === 'awaiting_approval') await env.client.decide(workflowId, { decision: 'approve', approver: 'alice', comment: 'auto (test)' }, approverKeys.get('alice')!);
    return waitForRun(env.client, workflowId);
  }

  /** What mlcycle computes from the registered model's ONNX file on the spec's held-out rows. */
  async function scoreRegistered(spec: PipelineSpec, _specPath: string, modelUri: string, lineage: { manifestUri?: string }) {
    const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-score-'));
    dirs.push(workDir);
    const deps = { store: env.store, workDir } as unknown as ActivityDeps;
    // The dataset version as ingest recorded it (with its columnar snapshot), split as evaluation splits it.
    const { dataset } = await env.store.getJson<{ dataset: DatasetRef }>(lineage.manifestUri!);
    const splits = await loadSnapshotSplits(deps, dataset, spec.data, { scratch: workDir });
    const test = tableRows(splits.table, splits.test, { name: spec.data.target, rule: spec.data.schema[spec.data.target]! });
    return scoreCommandModel(deps, modelUri, spec.data, resolveTask(spec.data, spec.train), test, spec.evaluate.metrics);
  }

  async function serve(model: string, version: number): Promise<string> {
    await server?.stop();
    server = createPredictionServer({ store: env.store, registry: registry(), model, refreshMs: 200, log: () => undefined });
    const { url } = await server.start();
    await expect.poll(() => server!.current().stable, { timeout: 20_000 }).toBe(version);
    return url;
  }

  const predict = (url: string, rows: unknown[]) =>
    fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });

  it('scikit-learn pipeline: independent evaluation, registered, deployed, served as ONNX', async () => {
    const { dir, specPath } = await example('sklearn-churn');
    const status = await runApproved(specPath);
    expect(status.error).toBeUndefined();
    expect(status.status).toBe('completed');
    const version = (await registry().getVersion('sklearn-churn', 1))!;
    const { spec } = await loadPipelineSpec(specPath);
    const scored = await scoreRegistered(spec, specPath, version.modelUri, version.lineage);
    expect(scored.scoredFrom).toBe('onnx');
    expect(version.metrics).toEqual(scored.metrics);
    expect(version.metrics.auc).toBeGreaterThan(0.7);
    const report = await env.store.getJson<{ scoredFrom: string; trainingMetrics: Record<string, number> }>(version.reports.evaluationJson!);
    expect(report.scoredFrom).toBe('onnx');
    // The printed auc (the validation auc) is kept as a training metric, not what was registered.
    expect(report.trainingMetrics.auc).toBe(report.trainingMetrics.val_auc);
    expect(await registry().getAliases('sklearn-churn')).toEqual({ production: 1 });

    const url = await serve('sklearn-churn', 1);
    const row = { tenure_months: 2, monthly_charges: 110, support_tickets: 4, plan: 'basic', region: 'north', autopay: false };
    const loyal = { ...row, tenure_months: 70, monthly_charges: 25, support_tickets: 0, plan: 'enterprise', autopay: true };
    const ok = await predict(url, [row, loyal]);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { version: number; predictions: Array<{ probability: number; label: boolean }> };
    expect(body.version).toBe(1);
    expect(body.predictions[0]!.probability).toBeGreaterThan(body.predictions[1]!.probability);
    expect(body.predictions[0]!.label).toBe(body.predictions[0]!.probability >= 0.5);
    // Same bad-input behaviour as a built-in model: 400 naming the field.
    const bad = await predict(url, [{ ...row, tenure_months: 'twelve' }]);
    expect(bad.status).toBe(400);
    const issues = (await bad.json()) as { issues: Array<{ path: string; message: string }> };
    expect(issues.issues[0]).toMatchObject({ path: 'rows.0.tenure_months' });
    const missing = await predict(url, [{ ...row, plan: undefined }]);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('rows.0.plan');
    // serve.outOfRange (default refuse) with the training split's statistics that mlcycle wrote beside the model.
    const far = await predict(url, [{ ...row, tenure_months: 1e12 }]);
    expect(far.status).toBe(400);
    expect(((await far.json()) as { issues: Array<{ path: string; message: string }> }).issues[0]).toMatchObject({ path: 'rows.0.tenure_months', message: expect.stringContaining('outside the range this model accepts') });

    // Drift monitoring works on the ONNX model as on built-in ones: current data with every
    // customer at 70 months of tenure drifts on that column and shifts the predictions.
    const csv = (await fs.readFile(path.join(dir, 'data', 'churn.csv'), 'utf8')).trim().split('\n');
    const col = csv[0]!.split(',').indexOf('tenure_months');
    const drifted = [csv[0], ...csv.slice(1).map((l) => l.split(',').map((v, i) => (i === col ? '70' : v)).join(','))].join('\n');
    await fs.writeFile(path.join(dir, 'drifted.csv'), `${drifted}\n`);
    const monitored = parsePipelineSpec({ ...YAML.parse(await fs.readFile(specPath, 'utf8')), monitor: { source: `file://${path.join(dir, 'drifted.csv')}`, drift: { minSamples: 50 } } });
    const deps = { store: env.store, workDir: dir, queue: 'cpu', gpuDevices: [] } as unknown as ActivityDeps;
    const drift: DriftCheckResult = await new MockActivityEnvironment().run(createMonitorActivities(deps).checkDrift, {
      model: 'sklearn-churn',
      monitor: monitored.monitor!,
      data: monitored.data,
      checkId: 'onnx-drift',
      nowIso: new Date().toISOString(),
    });
    expect(drift).toMatchObject({ verdict: 'drift', version: 1 });
    expect(drift.drifted).toContain('tenure_months');
  });

  it('a trainer lying in its printed auc does not change the verdict', async () => {
    // Learned nothing (shuffled labels) but prints auc 0.99: the gate scores the model itself.
    const { specPath } = await example('sklearn-churn', (d) => {
      d.name = 'sklearn-liar';
      d.train.params = { ...d.train.params, n_estimators: 20, sabotage: true, lie: true };
    });
    const status = await runApproved(specPath);
    expect(status.status).toBe('failed');
    expect(status.error).toMatch(/auc 0\.[0-6]\d* < threshold 0\.7/);
    await expect(registry().listVersions('sklearn-liar')).rejects.toThrow(/no model|not found|unknown/i);
  });

  it('an ONNX model whose inputs do not match the spec fails evaluation naming them; nothing registered', async () => {
    const { dir, specPath } = await example('sklearn-churn', (d) => {
      d.name = 'sklearn-mismatch';
      d.train.command = ['python', 'mismatch.py'];
    });
    // Exported by hand: no `plan` input, and an `account_age` input the spec does not have.
    await fs.writeFile(
      path.join(dir, 'mismatch.py'),
      `
import json, os
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
import mlcycle_trainer
ctx = mlcycle_trainer.context()
cols = ["tenure_months", "monthly_charges", "support_tickets", "autopay"]
X = ctx.train.X()[cols].to_numpy(dtype="float32")
m = LogisticRegression().fit(X, ctx.train.y())
onx = convert_sklearn(m, initial_types=[("input", FloatTensorType([None, 4]))], options={id(m): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
onx.graph.input[0].name = "account_age"
for n in onx.graph.node:
    n.input[:] = ["account_age" if i == "input" else i for i in n.input]
onx.ir_version = 8
open(os.path.join(ctx.output_dir, "model.onnx"), "wb").write(onx.SerializeToString())
json.dump({"format": "mlcycle-onnx/v1", "task": "binary", "output": "probabilities"}, open(os.path.join(ctx.output_dir, "mlcycle-model.json"), "w"))
ctx.report("auc", 0.95)
`,
    );
    const status = await runApproved(specPath);
    expect(status.status).toBe('failed');
    expect(status.error).toContain("the ONNX model's inputs do not match the spec's features");
    expect(status.error).toMatch(/missing inputs: tenure_months, monthly_charges, support_tickets, plan, region, autopay/);
    expect(status.error).toContain('extra inputs: account_age');
    await expect(registry().listVersions('sklearn-mismatch')).rejects.toThrow();
  });

  it('LightGBM: exported with onnxmltools, scored and served from the spec columns', async () => {
    const { specPath } = await example('lightgbm-fraud');
    const status = await runApproved(specPath);
    expect(status.error).toBeUndefined();
    const version = (await registry().getVersion('lightgbm-fraud', 1))!;
    const { spec } = await loadPipelineSpec(specPath);
    expect(version.metrics).toEqual((await scoreRegistered(spec, specPath, version.modelUri, version.lineage)).metrics);
    expect(version.metrics.auc).toBeGreaterThan(0.65);
    const url = await serve('lightgbm-fraud', 1);
    const res = await predict(url, [{ amount: 900, hour: 3, distance_km: 150, merchant_risk: 0.6, card_age_days: 20, foreign: true }]);
    expect(res.status).toBe(200);
    const p = ((await res.json()) as { predictions: Array<{ probability: number }> }).predictions[0]!.probability;
    expect(p).toBeGreaterThan(0.5);
    const bad = await predict(url, [{ amount: 900, hour: 3, distance_km: 150, merchant_risk: 0.6, card_age_days: 20, foreign: 'yes' }]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('rows.0.foreign');
  });

  it('regression: rmse/mae/r2/mape from the ONNX model, /predict answers values', async () => {
    const { specPath } = await example('sklearn-regression');
    const status = await runApproved(specPath);
    expect(status.error).toBeUndefined();
    const version = (await registry().getVersion('house-prices', 1))!;
    const { spec } = await loadPipelineSpec(specPath);
    expect(version.metrics).toEqual((await scoreRegistered(spec, specPath, version.modelUri, version.lineage)).metrics);
    expect(Object.keys(version.metrics).sort()).toEqual(['mae', 'mape', 'r2', 'rmse']);
    expect(version.metrics.r2).toBeGreaterThan(0.8);
    const url = await serve('house-prices', 1);
    const house = { sqft: 2000, bedrooms: 3, age_years: 10, neighborhood: 'center', has_garage: true };
    const res = await predict(url, [house, { ...house, sqft: 800, neighborhood: 'rural' }]);
    expect(res.status).toBe(200);
    const values = ((await res.json()) as { predictions: Array<{ value: number }> }).predictions.map((p) => p.value);
    // 60k + 150·2000 + 24k − 9k + 90k + 15k ≈ 480k by the generator's formula.
    expect(values[0]).toBeGreaterThan(380_000);
    expect(values[0]).toBeLessThan(580_000);
    expect(values[0]!).toBeGreaterThan(values[1]!);
  });
});
