import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSignature, OnnxModel } from '../../src/onnx/onnx-model';
import { computeTaskMetrics } from '../../src/training/task-metrics';
import { resolveTask } from '../../src/training/task-type';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';

const tensor = (name: string, type: string, shape: Array<number | string> = ['N', 1]) => ({ name, isTensor: true as const, type: type as 'float32', shape });

describe('ONNX input signature against the spec', () => {
  const features = [
    { name: 'tenure', type: 'number' as const },
    { name: 'plan', type: 'category' as const },
    { name: 'autopay', type: 'boolean' as const },
  ];

  it('accepts one input per feature of the right kind, in any order', () => {
    expect(() => checkSignature([tensor('plan', 'string'), tensor('autopay', 'float32'), tensor('tenure', 'float64')], features)).not.toThrow();
  });

  it('names missing, extra and mistyped inputs', () => {
    expect(() => checkSignature([tensor('tenure', 'float32'), tensor('plan', 'float32'), tensor('customer_id', 'string')], features)).toThrow(
      /missing inputs: autopay; extra inputs: customer_id; wrong input types: plan \(the spec declares category, so a string tensor; the model takes float32\)/,
    );
  });
});

describe('OnnxModel', () => {
  const bytes = async () => new Uint8Array(await fs.readFile(path.join(__dirname, '../fixtures/onnx/double.onnx')));
  const meta = { format: 'mlcycle-onnx/v1', task: 'binary', output: 'y' };

  it('scores rows by column name; binary reads the last output column', async () => {
    // sigmoid-sum.onnx: inputs a, c float [N, 1]; probabilities = [1 - σ(a + c), σ(a + c)].
    const file = new Uint8Array(await fs.readFile(path.join(__dirname, '../fixtures/onnx/sigmoid-sum.onnx')));
    const features = [{ name: 'c', type: 'number' as const }, { name: 'a', type: 'boolean' as const }];
    const model = await OnnxModel.load(file, { ...meta, output: 'probabilities' }, features, 'binary');
    const scores = await model.score([{ a: true, c: 0.5, extra: 'ignored' }, { a: false, c: -2 }, { a: null, c: 1 }]);
    expect(scores.kind).toBe('vector');
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    expect(scores.values[0]).toBeCloseTo(sigmoid(1.5), 6);
    expect(scores.values[1]).toBeCloseTo(sigmoid(-2), 6);
    expect(scores.values[2]).toBeNaN(); // a missing number/boolean is fed as NaN
    await model.release();
  });

  it('concurrent small calls (coalesced into shared runs) each get exactly their own rows', async () => {
    const file = new Uint8Array(await fs.readFile(path.join(__dirname, '../fixtures/onnx/sigmoid-sum.onnx')));
    const model = await OnnxModel.load(file, { ...meta, output: 'probabilities' }, [{ name: 'a', type: 'number' }, { name: 'c', type: 'number' }], 'binary');
    const calls = Array.from({ length: 20 }, (_, i) => Array.from({ length: (i % 3) + 1 }, (_, k) => ({ a: i, c: -k })));
    const together = await Promise.all(calls.map((rows) => model.score(rows)));
    for (const [i, rows] of calls.entries()) {
      const alone = await model.score(rows);
      expect(Array.from(together[i]!.values as Float64Array)).toEqual(Array.from(alone.values as Float64Array));
      expect(together[i]!.values).toHaveLength(rows.length);
    }
    await model.release();
  });

  it('refuses a model saved for another task, or naming an output it lacks', async () => {
    await expect(OnnxModel.load(await bytes(), { ...meta, task: 'regression' }, [{ name: 'x', type: 'number' }], 'binary')).rejects.toThrow(
      /saved for task regression, but the spec trains binary/,
    );
    await expect(OnnxModel.load(await bytes(), { ...meta, output: 'probabilities' }, [{ name: 'x', type: 'number' }], 'binary')).rejects.toThrow(
      /names output "probabilities", but the model's outputs are y/,
    );
    await expect(OnnxModel.load(await bytes(), { format: 'other' }, [], 'binary')).rejects.toThrow(/mlcycle-model.json is invalid/);
  });
});

describe('regression metrics (the one per-task implementation, as command models are scored)', () => {
  it('match scikit-learn on the same vectors', () => {
    // Reference values from scikit-learn 1.9.1 (mean_squared_error ** 0.5, mean_absolute_error,
    // r2_score, mean_absolute_percentage_error) on these vectors.
    const m = computeTaskMetrics({ task: 'regression', y: Float64Array.from([3, -0.5, 2, 7, 0]), pred: Float64Array.from([2.5, 0, 2, 8, 0.1]), numClasses: 0 }, ['rmse', 'mae', 'r2', 'mape']);
    expect(m.rmse).toBeCloseTo(0.5495452665613635, 12);
    expect(m.mae).toBeCloseTo(0.42000000000000004, 12);
    expect(m.r2).toBeCloseTo(0.9578212290502793, 12);
    expect(m.mape! / 90071992547410.19).toBeCloseTo(1, 12);
  });
});

describe('train.task', () => {
  const spec = (target: Record<string, unknown>, task?: string) =>
    parsePipelineSpec({
      apiVersion: 'mlcycle/v1',
      name: 'm',
      data: { source: 'file://d.csv', target: 'y', schema: { x: { type: 'number' }, y: target } },
      train: { trainer: 'command', command: ['python', 't.py'], ...(task ? { task } : {}) },
    });

  it('defaults to binary, or multiclass for a category target with more than two values', () => {
    const s = spec({ type: 'boolean' });
    expect(resolveTask(s.data, s.train)).toBe('binary');
    const c = spec({ type: 'category', values: ['a', 'b', 'c'] });
    expect(resolveTask(c.data, c.train)).toBe('multiclass');
  });

  it('regression needs a number target', () => {
    const r = spec({ type: 'number' }, 'regression');
    expect(resolveTask(r.data, r.train)).toBe('regression');
    const bad = spec({ type: 'boolean' }, 'regression');
    expect(() => resolveTask(bad.data, bad.train)).toThrow(/regression needs a number target, but "y" is declared boolean/);
    expect(() => spec({ type: 'number' }, 'ranking')).toThrow(/train.task/);
  });
});
