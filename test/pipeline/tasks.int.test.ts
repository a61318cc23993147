import path from 'node:path';
import fs from 'node:fs/promises';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { assignSplits, SPLIT_TEST } from '../../src/data/split';
import { createModelRegistry } from '../../src/registry/model-registry';
import { createPredictionServer, type OutOfRangeRule } from '../../src/serving/prediction-server';
import { parseModelArtifact } from '../../src/training/model-artifact';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { FRAUD_SCHEMA, HOUSE_SCHEMA, PENGUIN_SCHEMA, SPECIES, taskSpec, writeFraud, writeHouses, writePenguins } from '../helpers/task-datasets';

describe('binary, multiclass and regression pipelines on the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  const registry = () => createModelRegistry({ store: env.store });

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 200 });
    await writePenguins(path.join(ws.dir, 'data', 'penguins.csv'));
    await writeHouses(path.join(ws.dir, 'data', 'houses.csv'));
    await writeFraud(path.join(ws.dir, 'data', 'fraud.csv'));
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  async function writeSpec(file: string, doc: Record<string, unknown>): Promise<string> {
    const target = path.join(ws.dir, file);
    await fs.writeFile(target, YAML.stringify(doc));
    return target;
  }

  /** Serves `name` v`version` under a fresh alias and POSTs rows to /predict. */
  async function predictVia(name: string, version: number, rows: Array<Record<string, unknown>>, opts: { status?: number; outOfRange?: OutOfRangeRule } = {}): Promise<any> {
    await registry().setAlias(name, 'production', version, { actor: 'test' });
    const server = createPredictionServer({ store: env.store, registry: registry(), model: name, log: () => undefined, ...(opts.outOfRange ? { outOfRange: opts.outOfRange } : {}) });
    const { url } = await server.start();
    try {
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(opts.status ?? 200);
      return body;
    } finally {
      await server.stop();
    }
  }

  const trainers = ['logistic-regression', 'gradient-boosting'] as const;

  it('multiclass (3 species) and regression run ingest → … → register → serve → predict with both trainers', async () => {
    const runs = await Promise.all(
      trainers.flatMap((trainer) => [
        (async () => {
          const name = `penguins-${trainer === 'logistic-regression' ? 'lr' : 'gb'}`;
          const spec = await writeSpec(`${name}.yaml`, taskSpec({ name, source: 'file://data/penguins.csv', target: 'species', schema: PENGUIN_SCHEMA, train: { trainer, params: { epochs: 30 } }, evaluate: { metrics: ['accuracy', 'macro_f1', 'logloss', 'auc_ovr'], thresholds: { macro_f1: 0.8, logloss: 0.6 } } }));
          return { name, trainer, task: 'multiclass', status: await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId) };
        })(),
        (async () => {
          const name = `houses-${trainer === 'logistic-regression' ? 'lr' : 'gb'}`;
          // The LR model's spec clips far-out inputs (serve.outOfRange); the GB model keeps the default, refuse.
          const doc = taskSpec({ name, source: 'file://data/houses.csv', target: 'price', schema: HOUSE_SCHEMA, train: { trainer, params: { epochs: 60 } }, evaluate: { thresholds: { r2: 0.8 } } });
          const spec = await writeSpec(`${name}.yaml`, trainer === 'logistic-regression' ? { ...doc, serve: { outOfRange: 'clip' } } : doc);
          return { name, trainer, task: 'regression', status: await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId) };
        })(),
      ]),
    );
    for (const { name, trainer, task, status } of runs) {
      expect(status.error, name).toBeUndefined();
      expect(status.status, name).toBe('completed');
      expect(status.steps.find((s) => s.name === 'train')?.summary ?? '', name).toContain(task);
      const version = await registry().getVersion(name, 1);
      expect(version?.lineage.task).toBe(task);
      expect(version?.lineage.trainer).toBe(trainer);
      // Every default the trainer used is recorded, not just what the spec set.
      if (trainer === 'logistic-regression') expect(Object.keys(version!.lineage.params).sort()).toEqual(['epochs', 'l2', 'learningRate', 'memory', 'seed', 'tol']);
      else expect(version!.lineage.params).toMatchObject({ epochs: task === 'multiclass' ? 30 : 60, maxLeafNodes: 31, minSamplesLeaf: 20, maxBins: 255, earlyStopping: false });
      const report = await env.store.getJson<any>(status.artifacts!.evaluationJson!);
      expect(report.task).toBe(task);
      expect(report.splitSizes.test).toBeGreaterThan(300);
      expect(report.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
      const html = (await env.store.getBytes(status.artifacts!.evaluationReport!)).toString();
      if (task === 'multiclass') {
        expect(version!.metrics.macro_f1).toBeGreaterThan(0.8);
        expect(version!.metrics.macro_f1).toBeGreaterThan(report.baselineMetrics.macro_f1);
        expect(report.confusion).toHaveLength(3);
        expect(report.classes).toEqual(SPECIES);
        expect(html).toContain('Confusion matrix (normalized)');
        expect(html).toContain('chinstrap');
        const body = await predictVia(name, 1, [{ bill_length: 39, bill_depth: 18.5, flipper_length: 188, island: 'dream', male: true }, { bill_length: 47, bill_depth: 15, flipper_length: 218, island: 'biscoe', male: false }]);
        expect(body.predictions.map((p: any) => p.label)).toEqual(['adelie', 'gentoo']);
        expect(Object.keys(body.predictions[0].probabilities)).toEqual(SPECIES);
        expect(Object.values(body.predictions[0].probabilities as Record<string, number>).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      } else {
        expect(version!.metrics.r2).toBeGreaterThan(0.8);
        expect(version!.metrics.rmse).toBeLessThan(report.baselineMetrics.rmse);
        expect(html).toContain('Predicted vs actual');
        expect(html).toContain('Residuals');
        const body = await predictVia(name, 1, [{ area: 100, rooms: 3, hood: 'dream', garden: false }]);
        // 40 + 220 + 36 + 60 = 356 without noise
        expect(body.predictions[0].value).toBeGreaterThan(300);
        expect(body.predictions[0].value).toBeLessThan(410);
        expect(body.predictions[0].probability).toBeUndefined();
        // serve.outOfRange travels with the model: clip (LR's spec) answers, refuse (GB, the default) names the field; --out-of-range overrides.
        const far = [{ area: 1e200, rooms: 3, hood: 'dream', garden: false }];
        if (trainer === 'logistic-regression') {
          expect(parseModelArtifact(await env.store.getJson(version!.modelUri)).serve).toEqual({ outOfRange: 'clip' });
          expect(Number.isFinite((await predictVia(name, 1, far)).predictions[0].value)).toBe(true);
          expect((await predictVia(name, 1, far, { status: 400, outOfRange: 'refuse' })).issues[0].path).toBe('rows.0.area');
        } else {
          expect(parseModelArtifact(await env.store.getJson(version!.modelUri)).serve).toBeUndefined();
          expect((await predictVia(name, 1, far, { status: 400 })).issues[0].path).toBe('rows.0.area');
          expect(Number.isFinite((await predictVia(name, 1, far, { outOfRange: 'clip' })).predictions[0].value)).toBe(true);
        }
      }
      const model = parseModelArtifact(await env.store.getJson(version!.modelUri));
      expect(model.task).toBe(task);
    }
  });

  it('7% positives: classWeight balanced + an F1-optimized threshold beats the unweighted model on F1; the threshold is stored and used by /predict', async () => {
    const base = { name: 'fraud', source: 'file://data/fraud.csv', target: 'fraud', schema: FRAUD_SCHEMA };
    const plain = await writeSpec('fraud-plain.yaml', taskSpec({ ...base, name: 'fraud-plain', train: { trainer: 'logistic-regression' }, evaluate: { metrics: ['f1', 'pr_auc', 'auc', 'recall'] } }));
    const tuned = await writeSpec('fraud-tuned.yaml', taskSpec({ ...base, name: 'fraud-tuned', train: { trainer: 'logistic-regression', classWeight: 'balanced' }, evaluate: { metrics: ['f1', 'pr_auc', 'auc', 'recall'], threshold: { optimize: 'f1' } } }));
    const [a, b] = await Promise.all([plain, tuned].map(async (s) => waitForRun(env.client, (await env.client.startPipeline(s)).workflowId)));
    expect(a!.status).toBe('completed');
    expect(b!.status).toBe('completed');
    const vPlain = (await registry().getVersion('fraud-plain', 1))!;
    const vTuned = (await registry().getVersion('fraud-tuned', 1))!;
    expect(vTuned.metrics.f1).toBeGreaterThan(vPlain.metrics.f1! + 0.1);
    const model = parseModelArtifact(await env.store.getJson(vTuned.modelUri));
    expect(model.threshold).toMatchObject({ source: 'optimized', objective: 'f1' });
    expect(model.classWeight?.true).toBeGreaterThan(5);
    const t = model.threshold!.value;
    expect(t).not.toBe(0.5);
    const report = await env.store.getJson<any>(b!.artifacts!.evaluationJson!);
    expect(report.threshold).toBe(t);
    expect(report.baseRate).toBeGreaterThan(0.04);
    expect(report.baseRate).toBeLessThan(0.1);
    // /predict labels with the stored threshold: find rows scored on both sides of it, near it.
    const rows = Array.from({ length: 41 }, (_, i) => ({ amount: -2 + i * 0.1, hour: 0.5, online: true, other: 0, region: 'dream' }));
    const body = await predictVia('fraud-tuned', 1, rows);
    for (const p of body.predictions) {
      expect(p.label).toBe(p.probability >= t);
      expect(p.class).toBe(p.probability >= t ? 'true' : 'false');
    }
    expect(body.predictions.some((p: any) => p.label && p.probability < 0.5) || body.predictions.some((p: any) => !p.label && p.probability >= 0.5)).toBe(true);
  });

  it('bad input is named at validation and nothing is registered', async () => {
    // A 3-class target declared binary.
    const declaredBinary = await writeSpec('bad-binary.yaml', taskSpec({ name: 'bad-binary', source: 'file://data/penguins.csv', target: 'species', schema: PENGUIN_SCHEMA, train: { trainer: 'gradient-boosting', task: 'binary' } }));
    // Regression on a target holding words.
    await ws.writeFile('data/houses-text.csv', (await fs.readFile(path.join(ws.dir, 'data', 'houses.csv'), 'utf8')).split('\n').map((l, i) => (i > 0 && i % 97 === 0 && l ? l.replace(/,[^,]*$/, ',expensive') : l)).join('\n'));
    const wordsTarget = await writeSpec('bad-regression.yaml', taskSpec({ name: 'bad-regression', source: 'file://data/houses-text.csv', target: 'price', schema: { ...HOUSE_SCHEMA, price: { type: 'category', values: ['expensive'] } }, train: { trainer: 'logistic-regression', task: 'regression' } }));
    // A class only present in the test rows: species coded 0..2, one row of class 3 placed where the
    // (unstratified) seeded three-way split of the snapshot's row indexes puts a test row.
    const lines = (await fs.readFile(path.join(ws.dir, 'data', 'penguins.csv'), 'utf8')).trimEnd().split('\n');
    const coded = lines.slice(1).map((l) => l.replace(/[a-z]+$/, (sp) => String(SPECIES.indexOf(sp))));
    const assigned = assignSplits(Float64Array.from({ length: coded.length + 1 }, (_, i) => i), { test: 0.25, validation: 0.1, seed: 7 });
    const at = assigned.indexOf(SPLIT_TEST);
    coded.splice(at, 0, '50,17,230,biscoe,true,3');
    await ws.writeFile('data/penguins-coded.csv', [lines[0], ...coded].join('\n') + '\n');
    const codedSchema = { ...PENGUIN_SCHEMA, species: { type: 'number', integer: true } };
    const unseen = await writeSpec('bad-unseen.yaml', taskSpec({ name: 'bad-unseen', source: 'file://data/penguins-coded.csv', target: 'species', schema: codedSchema, train: { trainer: 'logistic-regression', task: 'multiclass' } }));
    const runs = await Promise.all([declaredBinary, wordsTarget, unseen].map(async (s) => waitForRun(env.client, (await env.client.startPipeline(s)).workflowId)));
    const [bin, reg, cls] = runs as [any, any, any];
    for (const r of runs) {
      expect(r.status).toBe('failed');
      expect(r.steps.find((s: any) => s.name === 'validate')?.state).toBe('failed');
      expect(r.steps.find((s: any) => s.name === 'register')?.state).toBe('skipped');
    }
    expect(bin.error).toContain('target "species" has 3 classes (adelie, chinstrap, gentoo) but train.task is binary, which needs exactly 2; use train.task: multiclass');
    expect(reg.error).toContain('target "price": train.task is regression, which needs a number column; data.schema declares it as category');
    expect(cls.error).toContain(`target "species": class "3" occurs in the test rows (1×, data rows ${at + 1}) but never in the training rows, so no model can learn it`);
    for (const name of ['bad-binary', 'bad-regression', 'bad-unseen']) await expect(registry().listVersions(name)).rejects.toThrow(/not found/);
  });
});
