import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServingDescription } from '../../src/onnx/onnx-artifact';
import { OnnxModel } from '../../src/onnx/onnx-model';
import { onnxPredictions } from '../../src/serving/request-checks';

const multiclass: ServingDescription = {
  format: 'mlcycle-serving/v1',
  task: 'multiclass',
  target: { name: 'tier', type: 'category' },
  features: [{ name: 'x', type: 'number' }, { name: 'color', type: 'category', values: ['red', 'green'] }],
  classes: ['low', 'mid', 'high'],
};

describe('ONNX answers in the built-in shapes', () => {
  it('multiclass: the most probable of the declared classes, from a real ONNX model', async () => {
    const bytes = new Uint8Array(await fs.readFile(path.join(__dirname, '../fixtures/onnx/softmax3.onnx')));
    const model = await OnnxModel.load(bytes, { format: 'mlcycle-onnx/v1', task: 'multiclass', output: 'probabilities' }, multiclass.features, 'multiclass');
    try {
      const { scores, predictions } = onnxPredictions(multiclass, await model.score([{ x: 5, color: 'red' }, { x: 0, color: 'green' }]));
      expect(predictions.map((p) => ('class' in p ? p.class : undefined))).toEqual(['low', 'mid']);
      const first = predictions[0] as { label: string; probability: number; probabilities: Record<string, number> };
      expect(first.label).toBe('low');
      expect(Object.keys(first.probabilities)).toEqual(['low', 'mid', 'high']);
      const e = [Math.exp(5), Math.exp(1), 1];
      expect(first.probability).toBeCloseTo(e[0]! / (e[0]! + e[1]! + e[2]!), 6);
      expect(scores[0]).toBe(first.probability);
    } finally {
      await model.release();
    }
  });

  it('multiclass: a row with a non-finite probability scores NaN; a width other than the class count is refused', () => {
    const { scores } = onnxPredictions(multiclass, { kind: 'matrix', values: [Float64Array.from([0.2, Number.NaN, 0.3])] });
    expect(scores[0]).toBeNaN();
    expect(() => onnxPredictions(multiclass, { kind: 'matrix', values: [Float64Array.from([0.5, 0.5])] })).toThrow(/answered 2 class probabilities for row 0, but the spec declares 3 classes/);
  });

  it('binary at 0.5 with the target\'s class names; regression the value', () => {
    const binary: ServingDescription = { ...multiclass, task: 'binary', target: { name: 't', positive: 'yes', negative: 'no' } };
    expect(onnxPredictions(binary, { kind: 'vector', values: Float64Array.from([0.7]) }).predictions).toEqual([{ probability: 0.7, label: true, class: 'yes', probabilities: { no: 1 - 0.7, yes: 0.7 } }]);
    expect(onnxPredictions({ ...multiclass, task: 'regression' }, { kind: 'vector', values: Float64Array.from([2.5]) }).predictions).toEqual([{ value: 2.5 }]);
  });
});
