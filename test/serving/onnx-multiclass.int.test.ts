import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFolder } from '../../activities/folder-artifacts';
import { writeServingDescription } from '../../activities/command-data';
import { loadServableOnnx, SERVING_FILE } from '../../src/onnx/onnx-artifact';
import { createModelRegistry, type ModelRegistry } from '../../src/registry/model-registry';
import { createPredictionServer, type PredictionServer } from '../../src/serving/prediction-server';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { registerUri } from './fixtures';

const MODEL = 'onnx-multiclass';
const CLASSES = ['low', 'mid', 'high'];

/** softmax3.onnx (test/fixtures/onnx/make-multiclass.py): probabilities = softmax([x, code(color), 0]), red 1, green 2, else 0. */
function expected(x: number, color: string | null): number[] {
  const code = color === 'red' ? 1 : color === 'green' ? 2 : 0;
  const e = [Math.exp(x), Math.exp(code), 1];
  const sum = e[0]! + e[1]! + e[2]!;
  return e.map((v) => v / sum);
}

async function register(env: TestEnv, registry: ModelRegistry, dir: string, key: string): Promise<number> {
  const { uri } = await uploadFolder(env.store, dir);
  return registerUri(registry, MODEL, uri, key, { trainer: 'command', task: 'multiclass' });
}

describe('serving a multiclass ONNX model (a command trainer\'s output folder)', () => {
  let env: TestEnv;
  let registry: ModelRegistry;
  let server: PredictionServer | undefined;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    registry = createModelRegistry({ store: env.store });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onnx-multiclass-'));
    // The folder as a command trainer leaves it: the model, its metadata, and mlcycle's serving description from the spec.
    await fs.copyFile(path.join(__dirname, '../fixtures/onnx/softmax3.onnx'), path.join(dir, 'model.onnx'));
    await fs.writeFile(path.join(dir, 'mlcycle-model.json'), JSON.stringify({ format: 'mlcycle-onnx/v1', task: 'multiclass', output: 'probabilities' }));
    const spec = parsePipelineSpec({
      apiVersion: 'mlcycle/v1',
      name: MODEL,
      data: { source: 'file://d.csv', target: 'tier', schema: { x: { type: 'number' }, color: { type: 'category', values: ['red', 'green', 'blue'] }, tier: { type: 'category', values: CLASSES } } },
      train: { trainer: 'command', command: ['python', 't.py'] },
    });
    // x's training statistics, as writeTrainerData computes them from the train split; the spec has no serve section (refuse).
    await writeServingDescription(dir, spec.data, 'multiclass', { x: { mean: 0.5, std: 1.5 } }, undefined);
    expect(await register(env, registry, dir, 'mc-v1')).toBe(1);
    await registry.setAlias(MODEL, 'production', 1, { actor: 'test' });
  });
  afterAll(async () => {
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    await env?.close();
  });

  it('answers {label, class, probability, probabilities} over the spec\'s classes, and 400 naming the field for bad input', async () => {
    server = createPredictionServer({ store: env.store, registry, model: MODEL, log: (l) => logs.push(l) });
    const { url } = await server.start();
    expect(server.current().stable).toBe(1);
    const rows = [
      { x: 0, color: 'red', id: 'a' },
      { x: 3, color: 'blue' },
      { x: -1, color: 'green' },
      { x: 0.5, color: null },
    ];
    const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; version: number; predictions: Array<{ label: string; class: string; probability: number; probabilities: Record<string, number> }> };
    expect(body.model).toBe(MODEL);
    expect(body.version).toBe(1);
    expect(body.predictions.map((p) => p.class)).toEqual(['mid', 'low', 'mid', 'low']);
    body.predictions.forEach((p, i) => {
      const want = expected(rows[i]!.x, rows[i]!.color);
      expect(Object.keys(p).sort()).toEqual(['class', 'label', 'probabilities', 'probability']);
      expect(Object.keys(p.probabilities)).toEqual(CLASSES);
      CLASSES.forEach((c, k) => expect(p.probabilities[c]).toBeCloseTo(want[k]!, 6));
      expect(p.label).toBe(p.class);
      expect(p.probability).toBeCloseTo(Math.max(...want), 6);
    });

    const bad = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [{ x: 'one', color: 'red' }, { color: 'red' }] }) });
    expect(bad.status).toBe(400);
    const issues = ((await bad.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path);
    expect(issues).toEqual(['rows.0.x', 'rows.1.x']);
    expect(logs.join('\n')).not.toMatch(/not supported/);
  });

  it('applies the out-of-range rule with the training statistics written beside the ONNX model', async () => {
    const post = (u: string, text: string) => fetch(`${u}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    const refusing = createPredictionServer({ store: env.store, registry, model: MODEL, log: (l) => logs.push(l) });
    const { url } = await refusing.start();
    try {
    // Bound: 0.5 ± 1e6 × max(1.5, 0.5). 1.4e6 is inside, 2e6 outside; 1e999 parses as Infinity (refused by the body schema).
    expect((await post(url, JSON.stringify({ rows: [{ x: 1.4e6, color: 'red' }] }))).status).toBe(200);
    const far = await post(url, JSON.stringify({ rows: [{ x: 1, color: 'red' }, { x: -2e6, color: 'red' }] }));
    expect(far.status).toBe(400);
    const farBody = (await far.json()) as { issues: Array<{ path: string; message: string }> };
    expect(farBody.issues.map((i) => i.path)).toEqual(['rows.1.x']);
    expect(farBody.issues[0]!.message).toContain('outside the range this model accepts (training mean 0.5000');
    const inf = await post(url, '{"rows": [{"x": 1e999, "color": "red"}]}');
    expect(inf.status).toBe(400);
    expect(((await inf.json()) as { issues: Array<{ path: string; message: string }> }).issues).toEqual([{ path: 'rows.0.x', message: 'expected a finite number or null, got number Infinity' }]);
    } finally {
      await refusing.stop();
    }

    // --out-of-range clip: the far value is clipped to the bound and scored like it.
    const clipping = createPredictionServer({ store: env.store, registry, model: MODEL, outOfRange: 'clip', log: (l) => logs.push(l) });
    try {
      const clipUrl = (await clipping.start()).url;
      const clipped = await post(clipUrl, JSON.stringify({ rows: [{ x: -2e6, color: 'red' }, { x: 0.5 - 1.5e6, color: 'red' }] }));
      expect(clipped.status).toBe(200);
      const [a, b] = ((await clipped.json()) as { predictions: Array<{ probabilities: Record<string, number> }> }).predictions;
      expect(a!.probabilities).toEqual(b!.probabilities);
    } finally {
      await clipping.stop();
    }
  });

  it('refuses a damaged serving description, naming the field, before anything serves from it', async () => {
    const damaged = await fs.mkdtemp(path.join(os.tmpdir(), 'onnx-damaged-'));
    try {
      await fs.cp(dir, damaged, { recursive: true });
      const doc = JSON.parse(await fs.readFile(path.join(damaged, SERVING_FILE), 'utf8')) as { features: Array<Record<string, unknown>> };
      doc.features[0] = { ...doc.features[0], mean: 'large', std: -1 };
      await fs.writeFile(path.join(damaged, SERVING_FILE), JSON.stringify(doc));
      const { uri } = await uploadFolder(env.store, damaged);
      await expect(loadServableOnnx(env.store, uri)).rejects.toThrow(/mlcycle-serving\.json is invalid: features\.0\.mean: .*; features\.0\.std: /);
    } finally {
      await fs.rm(damaged, { recursive: true, force: true });
    }
  });
});
