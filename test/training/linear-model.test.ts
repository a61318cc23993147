import { describe, expect, it } from 'vitest';
import { linearModel } from '../../src/training/linear-model';
import { auc } from '../../src/training/metrics';
import { sliceRows, synthetic } from '../helpers/synthetic-tasks';
import { fit, freshCopy } from './engine-harness';

const split = (task: 'binary' | 'multiclass' | 'regression', opts: { missing?: number } = {}) => {
  const all = synthetic({ task, rows: 5000, features: 10, seed: 3, ...opts });
  return { train: sliceRows(all, 0, 4000), test: sliceRows(all, 4000, 5000) };
};

/** Least squares with a ridge term on standardized features, solved directly (Gauss–Jordan). */
function ridgeDirect(train: ReturnType<typeof split>['train'], l2: number): { coef: number[]; intercept: number } {
  const n = train.X.rows;
  const d = train.X.columns.length;
  const Z = train.X.columns.map((c) => {
    const m = c.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(c.reduce((a, b) => a + (b - m) ** 2, 0) / n);
    return Array.from(c, (v) => (v - m) / sd);
  });
  const y = Array.from(train.y.values);
  const ym = y.reduce((a, b) => a + b, 0) / n;
  const ys = Math.sqrt(y.reduce((a, b) => a + (b - ym) ** 2, 0) / n);
  const t = y.map((v) => (v - ym) / ys);
  // (ZᵀZ/n + l2 I) w = Zᵀt/n  (Z centred, so the intercept is 0 in standardized units)
  const A = Array.from({ length: d }, (_, a) => [...Array.from({ length: d }, (_, b) => Z[a]!.reduce((s, v, i) => s + v * Z[b]![i]!, 0) / n + (a === b ? l2 : 0)), Z[a]!.reduce((s, v, i) => s + v * t[i]!, 0) / n]);
  for (let c = 0; c < d; c++) {
    const p = A[c]![c]!;
    for (let k = c; k <= d; k++) A[c]![k]! /= p;
    for (let r = 0; r < d; r++) if (r !== c) { const f = A[r]![c]!; for (let k = c; k <= d; k++) A[r]![k]! -= f * A[c]![k]!; }
  }
  return { coef: A.map((row) => row[d]!), intercept: 0 };
}

describe('linear model (L-BFGS)', () => {
  it('binary: converges well inside the iteration cap and ranks the held-out rows', () => {
    const { train, test } = split('binary');
    const s = fit(linearModel, train);
    expect(s.converged).toBe(true);
    expect(s.stopReason).toBe('converged');
    expect(s.epoch).toBeLessThan(100);
    expect(s.params).toEqual({ epochs: 100, l2: 1 / 4000, tol: 1e-4, memory: 10, learningRate: 1 });
    expect(auc(test.y.values, linearModel.predict(s, test.X))).toBeGreaterThan(0.85);
    // At convergence the gradient is (nearly) zero.
    expect(Math.max(...s.opt.g.map(Math.abs))).toBeLessThanOrEqual(1e-4);
  });

  it('regression: matches the direct ridge solution', () => {
    const { train } = split('regression');
    const s = fit(linearModel, train, { tol: 1e-10 });
    const direct = ridgeDirect(train, 1 / 4000);
    s.model.coef.forEach((c, j) => expect(c).toBeCloseTo(direct.coef[j]!, 6));
    expect(s.model.intercept[0]).toBeCloseTo(0, 6);
  });

  it('multiclass: probabilities sum to 1 and beat the majority class by far', () => {
    const { train, test } = split('multiclass');
    const s = fit(linearModel, train);
    expect(s.converged).toBe(true);
    const p = linearModel.predict(s, test.X);
    let right = 0;
    for (let i = 0; i < test.X.rows; i++) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      if (row.indexOf(Math.max(...row)) === test.y.values[i]) right++;
    }
    expect(right / test.X.rows).toBeGreaterThan(0.75);
  });

  it('missing values count as the column mean', () => {
    const { train, test } = split('binary', { missing: 0.1 });
    const s = fit(linearModel, train);
    const p = linearModel.predict(s, test.X);
    expect(p.every((v) => Number.isFinite(v))).toBe(true);
    expect(auc(test.y.values, p)).toBeGreaterThan(0.8);
  });

  it('a run resumed from a JSON checkpoint on fresh arrays equals the uninterrupted run', () => {
    const { train } = split('multiclass');
    const full = fit(linearModel, train, { tol: 1e-8 });
    const half = fit(linearModel, train, { tol: 1e-8 }, { stopAt: 4 });
    const resumed = fit(linearModel, freshCopy(train), { tol: 1e-8 }, { resumeFrom: JSON.parse(JSON.stringify(half)) });
    expect(resumed).toEqual(full);
  });

  it('class weights shift the decision towards the weighted class', () => {
    const all = synthetic({ task: 'binary', rows: 4000, features: 10, seed: 5, positiveRate: 0.07 });
    const plain = fit(linearModel, all);
    const w = new Float64Array(all.X.rows).map((_, i) => (all.y.values[i] === 1 ? 6 : 1));
    const weighted = fit(linearModel, all, {}, { sampleWeight: w });
    const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(linearModel.predict(weighted, all.X))).toBeGreaterThan(1.5 * mean(linearModel.predict(plain, all.X)));
  });

  it('reports standardized coefficients as importance and refuses bad params by name', () => {
    const { train } = split('binary');
    const s = fit(linearModel, train);
    const imp = linearModel.importance(s);
    expect(imp.kind).toBe('standardized-coefficient');
    expect(imp.values).toHaveLength(10);
    expect(() => linearModel.parseParams({ tol: -1 }, { task: 'binary', rows: 10 })).toThrow(/train\.params\.tol/);
    expect(() => linearModel.parseParams({ batchSize: 3 }, { task: 'binary', rows: 10 })).toThrow(/batchSize/);
  });
});
