import { describe, expect, it } from 'vitest';
import type { LabeledMatrix } from '../../src/training/feature-matrix';
import { histGradientBoosting, MISSING_BIN } from '../../src/training/hist-gradient-boosting';
import { auc } from '../../src/training/metrics';
import { mulberry32, sliceRows, synthetic } from '../helpers/synthetic-tasks';
import { fit, freshCopy } from './engine-harness';

const gb = histGradientBoosting;

function leaves(tree: { feature: number[] }): number {
  return tree.feature.filter((f) => f === -1).length;
}

describe('histogram gradient boosting', () => {
  it('records every default it used (early stopping resolved from the row count)', () => {
    expect(gb.parseParams({}, { task: 'binary', rows: 500 })).toEqual({
      epochs: 100, learningRate: 0.1, maxLeafNodes: 31, maxDepth: null, minSamplesLeaf: 20, l2: 0, maxBins: 255,
      subsample: 1, maxFeatures: 1, earlyStopping: false, nIterNoChange: 10, tol: 1e-7,
    });
    expect(gb.parseParams({}, { task: 'binary', rows: 10_001 }).earlyStopping).toBe(true);
    expect(() => gb.parseParams({ maxBins: 256 }, { task: 'binary', rows: 1 })).toThrow(/train\.params\.maxBins: must be <= 255/);
  });

  it.each(['binary', 'multiclass', 'regression'] as const)('%s: learns, grows trees leaf-wise within maxLeafNodes and minSamplesLeaf', (task) => {
    const all = synthetic({ task, rows: 4000, features: 8, seed: 9 });
    const train = sliceRows(all, 0, 3000);
    const test = sliceRows(all, 3000, 4000);
    const s = fit(gb, train, { epochs: 40, maxLeafNodes: 15, minSamplesLeaf: 30 });
    const width = task === 'multiclass' ? 3 : 1;
    expect(s.model.trees).toHaveLength(40 * width);
    for (const tree of s.model.trees) expect(leaves(tree)).toBeLessThanOrEqual(15);
    expect(s.history.at(-1)!.loss).toBeLessThan(s.history[0]!.loss);
    const p = gb.predict(s, test.X);
    if (task === 'binary') expect(auc(test.y.values, p)).toBeGreaterThan(0.9);
    if (task === 'regression') {
      let se = 0;
      let sv = 0;
      const m = test.y.values.reduce((a, b) => a + b, 0) / 1000;
      test.y.values.forEach((v, i) => { se += (p[i]! - v) ** 2; sv += (v - m) ** 2; });
      expect(1 - se / sv).toBeGreaterThan(0.8);
    }
    if (task === 'multiclass') {
      let right = 0;
      for (let i = 0; i < 1000; i++) {
        const row = Array.from(p.subarray(i * 3, i * 3 + 3));
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        if (row.indexOf(Math.max(...row)) === test.y.values[i]) right++;
      }
      expect(right / 1000).toBeGreaterThan(0.7);
    }
  });

  it('learns from missingness itself (native missing bin, learned direction)', () => {
    const n = 3000;
    const rng = mulberry32(4);
    const x = new Float64Array(n);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const missing = rng() < 0.3;
      x[i] = missing ? Number.NaN : rng();
      values[i] = missing ? (rng() < 0.9 ? 1 : 0) : rng() < 0.1 ? 1 : 0;
    }
    const data: LabeledMatrix = { X: { rows: n, featureNames: ['x'], columns: [x] }, y: { task: 'binary', values, classes: ['a', 'b'] } };
    const s = fit(gb, data, { epochs: 5, learningRate: 1 });
    const p = gb.predict(s, { rows: 2, featureNames: ['x'], columns: [Float64Array.from([Number.NaN, 0.5])] });
    expect(p[0]).toBeGreaterThan(0.8);
    expect(p[1]).toBeLessThan(0.2);
    expect(MISSING_BIN).toBe(255);
  });

  it('stops early on the validation loss (n > 10,000 by default)', () => {
    const all = synthetic({ task: 'binary', rows: 14_000, features: 6, seed: 2 });
    const train = sliceRows(all, 0, 12_000);
    const validation = sliceRows(all, 12_000, 14_000);
    const s = fit(gb, train, { epochs: 1000, learningRate: 0.5 }, { validation });
    expect(s.params.earlyStopping).toBe(true);
    expect(s.stopReason).toBe('early-stopping');
    expect(s.epoch).toBeLessThan(1000);
    expect(s.history.every((h) => typeof h.valLoss === 'number' && typeof h.valAuc === 'number')).toBe(true);
  });

  it('subsampling rows and features, resumed from a JSON checkpoint on fresh arrays, equals the uninterrupted run', () => {
    const all = synthetic({ task: 'multiclass', rows: 3000, features: 8, seed: 6, missing: 0.05 });
    const train = sliceRows(all, 0, 2500);
    const validation = sliceRows(all, 2500, 3000);
    const params = { epochs: 12, subsample: 0.7, maxFeatures: 0.6, earlyStopping: true };
    const full = fit(gb, train, params, { validation, seed: 3 });
    const half = fit(gb, train, params, { validation, seed: 3, stopAt: 5 });
    const resumed = fit(gb, freshCopy(train), params, { validation: freshCopy(validation), seed: 3, resumeFrom: JSON.parse(JSON.stringify(half)) });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(full));
    const other = fit(gb, train, params, { validation, seed: 4 });
    expect(JSON.stringify(other.model.trees)).not.toBe(JSON.stringify(full.model.trees));
  });

  it('without subsampling (scores updated from the leaf partitions), a resumed run equals the uninterrupted one', () => {
    const all = synthetic({ task: 'binary', rows: 3000, features: 8, seed: 7, missing: 0.05 });
    const train = sliceRows(all, 0, 2500);
    const validation = sliceRows(all, 2500, 3000);
    const full = fit(gb, train, { epochs: 10 }, { validation });
    const half = fit(gb, train, { epochs: 10 }, { validation, stopAt: 4 });
    const resumed = fit(gb, freshCopy(train), { epochs: 10 }, { validation: freshCopy(validation), resumeFrom: JSON.parse(JSON.stringify(half)) });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(full));
  });

  it('weights scale gradients (class weights raise the minority class probability)', () => {
    const all = synthetic({ task: 'binary', rows: 4000, features: 8, seed: 5, positiveRate: 0.07 });
    const w = new Float64Array(all.X.rows).map((_, i) => (all.y.values[i] === 1 ? 6 : 1));
    const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
    const plain = gb.predict(fit(gb, all, { epochs: 20 }), all.X);
    const weighted = gb.predict(fit(gb, all, { epochs: 20 }, { sampleWeight: w }), all.X);
    expect(mean(weighted)).toBeGreaterThan(1.5 * mean(plain));
  });

  it('gain importance puts the informative features first', () => {
    const all = synthetic({ task: 'regression', rows: 3000, features: 10, seed: 8 });
    const s = fit(gb, all, { epochs: 20 });
    const imp = gb.importance(s);
    expect(imp.kind).toBe('gain');
    const noise = Math.max(...imp.values.slice(6));
    expect(Math.max(...imp.values.slice(0, 6))).toBeGreaterThan(5 * noise);
  });
});
