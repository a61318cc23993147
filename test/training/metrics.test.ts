import { describe, expect, it } from 'vitest';
import {
  accuracy,
  auc,
  checkThresholds,
  compareToChampion,
  computeMetrics,
  confusionMatrix,
  f1,
  logloss,
  precision,
  recall,
  rocCurve,
} from '../../src/training/metrics';

describe('auc', () => {
  it('matches a hand-worked example with tied scores', () => {
    // positives score 0.9, 0.7, 0.5; negatives 0.9, 0.5, 0.1. Over the 9 pairs:
    // 0.9: tie(½) + win + win = 2.5; 0.7: loss + win + win = 2; 0.5: loss + tie(½) + win = 1.5 → 6/9
    const y = [1, 0, 1, 0, 1, 0];
    const s = [0.9, 0.9, 0.7, 0.5, 0.5, 0.1];
    expect(auc(y, s)).toBeCloseTo(6 / 9, 12);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when all scores tie', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
    expect(auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('does not depend on row order', () => {
    expect(auc([0, 1, 0, 1, 0, 1], [0.1, 0.5, 0.9, 0.9, 0.5, 0.7])).toBeCloseTo(6 / 9, 12);
  });

  it('is NaN with a single class, and refuses NaN scores', () => {
    expect(auc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(() => auc([1, 0], [Number.NaN, 0.3])).toThrow(/NaN/);
    expect(() => auc([1, 0], [0.3])).toThrow(/length/);
  });
});

describe('thresholded metrics (>= 0.5 is positive)', () => {
  const y = [1, 1, 1, 0, 0, 0, 1, 0, 1];
  const p = [0.9, 0.6, 0.4, 0.2, 0.55, 0.1, 0.5, 0.49, 0.3];
  // tp: 0.9, 0.6, 0.5 → 3; fp: 0.55 → 1; fn: 0.4, 0.3 → 2; tn: 0.2, 0.1, 0.49 → 3

  it('confusion matrix', () => {
    expect(confusionMatrix(y, p)).toEqual({ tp: 3, fp: 1, tn: 3, fn: 2 });
  });

  it('accuracy, precision, recall, f1', () => {
    expect(accuracy(y, p)).toBeCloseTo(6 / 9, 12);
    expect(precision(y, p)).toBeCloseTo(0.75, 12);
    expect(recall(y, p)).toBeCloseTo(0.6, 12);
    expect(f1(y, p)).toBeCloseTo((2 * 0.75 * 0.6) / (0.75 + 0.6), 12);
  });

  it('precision/recall/f1 are 0 when nothing is predicted positive', () => {
    expect(precision([1, 0], [0.1, 0.2])).toBe(0);
    expect(recall([1, 0], [0.1, 0.2])).toBe(0);
    expect(f1([1, 0], [0.1, 0.2])).toBe(0);
  });
});

describe('logloss', () => {
  it('is the mean cross-entropy', () => {
    expect(logloss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
  });
  it('clips probabilities so certainty that is wrong stays finite', () => {
    const v = logloss([0, 1], [1, 0]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(-Math.log(1e-15), 3);
  });
});

describe('rocCurve', () => {
  it('has one point per distinct score, from (0,0) to (1,1)', () => {
    const pts = rocCurve([1, 0, 1, 0], [0.8, 0.6, 0.6, 0.2]);
    expect(pts.map((q) => [q.fpr, q.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
    expect(pts[0]?.threshold).toBe(Number.POSITIVE_INFINITY);
    expect(pts.map((q) => q.threshold).slice(1)).toEqual([0.8, 0.6, 0.2]);
  });

  it('thins long curves to maxPoints, keeping both ends', () => {
    const n = 1000;
    const y = Array.from({ length: n }, (_, i) => i % 2);
    const s = Array.from({ length: n }, (_, i) => i / n);
    const pts = rocCurve(y, s, { maxPoints: 50 });
    expect(pts).toHaveLength(50);
    expect(pts[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(pts[49]).toMatchObject({ fpr: 1, tpr: 1 });
  });
});

describe('computeMetrics', () => {
  it('returns exactly the named metrics, in order', () => {
    const m = computeMetrics([1, 0, 1, 0], [0.8, 0.6, 0.6, 0.2], ['f1', 'auc']);
    expect(Object.keys(m)).toEqual(['f1', 'auc']);
    expect(m.auc).toBeCloseTo(0.875, 12);
    expect(m.f1).toBeCloseTo(0.8, 12); // tp 2, fp 1, fn 0
  });
  it('computes every binary metric by default', () => {
    expect(Object.keys(computeMetrics([1, 0], [0.7, 0.2]))).toEqual(['auc', 'accuracy', 'f1', 'precision', 'recall', 'logloss', 'pr_auc', 'balanced_accuracy', 'brier']);
  });
});

describe('checkThresholds', () => {
  it('lists misses with readable messages; logloss is a maximum', () => {
    const misses = checkThresholds({ auc: 0.71, accuracy: 0.9, logloss: 0.6 }, { auc: 0.75, accuracy: 0.8, logloss: 0.5 });
    expect(misses.map((m) => m.message)).toEqual(['auc 0.71 < threshold 0.75', 'logloss 0.6 > threshold 0.5']);
    expect(misses[0]).toMatchObject({ metric: 'auc', value: 0.71, threshold: 0.75 });
  });
  it('passes when every threshold is met (equal counts as met)', () => {
    expect(checkThresholds({ auc: 0.75, logloss: 0.5 }, { auc: 0.75, logloss: 0.5 })).toEqual([]);
  });
  it('treats an uncomputed or NaN metric as a miss', () => {
    const misses = checkThresholds({ auc: Number.NaN }, { auc: 0.7, f1: 0.5 });
    expect(misses.map((m) => m.metric)).toEqual(['auc', 'f1']);
    expect(misses[1]?.message).toMatch(/f1 was not computed/);
  });
});

describe('compareToChampion', () => {
  it('needs at least minImprovement', () => {
    expect(compareToChampion({ auc: 0.8 }, { auc: 0.78 }, { metric: 'auc', minImprovement: 0.02 }).better).toBe(true);
    const lose = compareToChampion({ auc: 0.79 }, { auc: 0.78 }, { metric: 'auc', minImprovement: 0.02 });
    expect(lose.better).toBe(false);
    expect(lose.improvement).toBeCloseTo(0.01, 12);
    expect(lose.message).toContain('does not beat champion 0.78');
  });
  it('counts a lower logloss as an improvement', () => {
    const c = compareToChampion({ logloss: 0.3 }, { logloss: 0.4 }, { metric: 'logloss' });
    expect(c.better).toBe(true);
    expect(c.improvement).toBeCloseTo(0.1, 12);
    expect(compareToChampion({ logloss: 0.5 }, { logloss: 0.4 }, { metric: 'logloss' }).better).toBe(false);
  });
  it('wins without a champion value and loses without a candidate value', () => {
    expect(compareToChampion({ auc: 0.6 }, undefined, { metric: 'auc' }).better).toBe(true);
    expect(compareToChampion({}, { auc: 0.6 }, { metric: 'auc' }).better).toBe(false);
  });
});
