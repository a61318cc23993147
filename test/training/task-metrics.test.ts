import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricName } from '../../src/spec/pipeline-spec';
import type { TaskType } from '../../src/training/feature-matrix';
import { checkThresholds, compareToChampion, lowerIsBetter } from '../../src/training/metrics';
import { computeTaskMetrics, optimizeThreshold, TASK_METRICS } from '../../src/training/task-metrics';

interface Case {
  name: string;
  task: TaskType;
  threshold?: number;
  numClasses?: number;
  y: number[];
  pred: number[];
  values: Record<string, number>;
}
// Reference values from scikit-learn on the same predictions (scripts/metric-vectors.py).
const V = JSON.parse(fs.readFileSync(path.join(__dirname, 'vectors', 'metric-vectors.json'), 'utf8')) as { cases: Case[] };

describe('task metrics agree with scikit-learn to 1e-9', () => {
  it('covers every metric of every task', () => {
    for (const task of ['binary', 'multiclass', 'regression'] as const) {
      const covered = new Set(V.cases.filter((c) => c.task === task).flatMap((c) => Object.keys(c.values)));
      expect([...covered].sort()).toEqual([...TASK_METRICS[task]].sort());
    }
  });

  it.each(V.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const got = computeTaskMetrics(
      { task: c.task, y: c.y, pred: c.pred, ...(c.numClasses ? { numClasses: c.numClasses } : {}), ...(c.threshold !== undefined ? { threshold: c.threshold } : {}) },
      Object.keys(c.values) as MetricName[],
    );
    for (const [metric, want] of Object.entries(c.values)) {
      expect(Math.abs(got[metric as MetricName]! - want), `${metric}: ${got[metric as MetricName]} vs ${want}`).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe('directions, thresholds and champion comparison for every metric', () => {
  it('knows which metrics are better lower', () => {
    expect(['logloss', 'brier', 'rmse', 'mae', 'mape'].every((m) => lowerIsBetter(m as MetricName))).toBe(true);
    expect(['auc', 'pr_auc', 'macro_f1', 'auc_ovr', 'r2', 'balanced_accuracy'].some((m) => lowerIsBetter(m as MetricName))).toBe(false);
  });

  it('applies a maximum to rmse and a minimum to r2', () => {
    expect(checkThresholds({ rmse: 2.5, r2: 0.9 }, { rmse: 3, r2: 0.8 })).toEqual([]);
    const misses = checkThresholds({ rmse: 3.5, r2: 0.7 }, { rmse: 3, r2: 0.8 }).map((m) => m.message);
    expect(misses).toEqual(['rmse 3.5 > threshold 3', 'r2 0.7 < threshold 0.8']);
  });

  it('a lower rmse beats the champion; a lower macro_f1 does not', () => {
    expect(compareToChampion({ rmse: 2 }, { rmse: 2.5 }, { metric: 'rmse', minImprovement: 0.1 }).better).toBe(true);
    expect(compareToChampion({ macro_f1: 0.7 }, { macro_f1: 0.75 }, { metric: 'macro_f1' }).better).toBe(false);
  });
});

describe('threshold optimization', () => {
  const c = V.cases.find((x) => x.name === '7% positives')!;
  it.each(['f1', 'balanced_accuracy', 'youden'] as const)('%s: no other candidate threshold does better', (objective) => {
    const best = optimizeThreshold(c.y, c.pred, objective);
    const score = (t: number) => {
      const m = computeTaskMetrics({ task: 'binary', y: c.y, pred: c.pred, threshold: t }, ['f1', 'balanced_accuracy']);
      return objective === 'f1' ? m.f1! : objective === 'balanced_accuracy' ? m.balanced_accuracy! : 2 * m.balanced_accuracy! - 1;
    };
    expect(best.value).toBeCloseTo(score(best.threshold), 12);
    for (const t of new Set(c.pred)) expect(score(t)).toBeLessThanOrEqual(best.value + 1e-12);
    expect(best.value).toBeGreaterThan(score(0.5));
  });
});
