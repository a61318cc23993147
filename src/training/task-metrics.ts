/**
 * Metrics per task type, defined as scikit-learn defines them (checked against it to 1e-9 by
 * test/training/task-metrics.test.ts with vectors from scripts/metric-vectors.py):
 *
 * - binary (y 0/1, p = P(class 1), positive when p ≥ threshold): auc (roc_auc_score), pr_auc
 *   (average_precision_score), accuracy, balanced_accuracy, f1, precision, recall (0 when
 *   undefined), logloss (log_loss, p clipped to [1e-15, 1−1e-15]), brier (brier_score_loss).
 * - multiclass (y class index, P row-major n×k, label = argmax, first on ties): accuracy,
 *   balanced_accuracy (mean recall over the classes present in y), macro_f1 and weighted_f1 (over
 *   the classes present in y or predicted), logloss, auc_ovr (mean one-vs-rest ROC AUC).
 * - regression: rmse, mae, r2, mape (mean |y−ŷ| / max(|y|, 2.2e-16), a fraction, not a percent).
 *
 * Direction: logloss, brier, rmse, mae and mape are better when lower; every other metric when
 * higher (see lowerIsBetter in metrics.ts).
 */
import type { TaskType } from './feature-matrix';
import { auc, scoreSweep, type ConfusionMatrix } from './metrics';
import { TASK_METRIC_NAMES, type MetricName } from '../spec/pipeline-spec';

export const TASK_METRICS: Readonly<Record<TaskType, readonly MetricName[]>> = TASK_METRIC_NAMES;

/** What evaluate.metrics means when the spec leaves it out. */
export const DEFAULT_TASK_METRICS: Readonly<Record<TaskType, readonly MetricName[]>> = {
  binary: ['auc', 'accuracy', 'f1'],
  multiclass: ['accuracy', 'macro_f1', 'logloss'],
  regression: ['rmse', 'mae', 'r2'],
};

export function metricsForTask(task: TaskType): readonly MetricName[] {
  return TASK_METRICS[task];
}

export interface TaskPredictions {
  task: TaskType;
  /** Binary 0/1, multiclass class index, regression value. */
  y: ArrayLike<number>;
  /** Binary P(class 1), multiclass row-major n×k probabilities, regression predicted value. */
  pred: ArrayLike<number>;
  /** Multiclass: k. */
  numClasses?: number;
  /** Binary: the decision threshold (default 0.5). */
  threshold?: number;
}

const EPS = 1e-15;
const MAPE_EPS = 2.220446049250313e-16;

export function binaryConfusion(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): ConfusionMatrix {
  const m = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < y.length; i++) {
    const pos = (p[i] as number) >= threshold;
    if (y[i] === 1) {
      if (pos) m.tp++;
      else m.fn++;
    } else if (pos) m.fp++;
    else m.tn++;
  }
  return m;
}

/** scikit-learn's average_precision_score: Σ (R_n − R_{n−1}) P_n over distinct score thresholds. */
export function averagePrecision(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  if (positives === 0) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  let prevRecall = 0;
  let ap = 0;
  for (const { tp, fp } of scoreSweep(y, p, order)) {
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** Predicted class per row: argmax, the first on ties. */
export function argmaxRows(P: ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((P[i * k + c] as number) > (P[i * k + best] as number)) best = c;
    out[i] = best;
  }
  return out;
}

/** k×k counts, rows = true class, columns = predicted class. */
export function multiclassConfusion(y: ArrayLike<number>, predicted: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < y.length; i++) (m[y[i] as number] as number[])[predicted[i] as number]! += 1;
  return m;
}

function binaryMetric(name: MetricName, y: ArrayLike<number>, p: ArrayLike<number>, threshold: number, cm: () => ConfusionMatrix): number | undefined {
  const n = y.length;
  switch (name) {
    case 'auc':
      return auc(y, p);
    case 'pr_auc':
      return averagePrecision(y, p);
    case 'accuracy': {
      const m = cm();
      return n === 0 ? Number.NaN : (m.tp + m.tn) / n;
    }
    case 'balanced_accuracy': {
      const m = cm();
      const rates: number[] = [];
      if (m.tp + m.fn > 0) rates.push(m.tp / (m.tp + m.fn));
      if (m.tn + m.fp > 0) rates.push(m.tn / (m.tn + m.fp));
      return rates.length === 0 ? Number.NaN : rates.reduce((a, b) => a + b, 0) / rates.length;
    }
    case 'precision': {
      const m = cm();
      return m.tp + m.fp === 0 ? 0 : m.tp / (m.tp + m.fp);
    }
    case 'recall': {
      const m = cm();
      return m.tp + m.fn === 0 ? 0 : m.tp / (m.tp + m.fn);
    }
    case 'f1': {
      const m = cm();
      return m.tp === 0 ? 0 : (2 * m.tp) / (2 * m.tp + m.fp + m.fn);
    }
    case 'logloss': {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const q = Math.min(Math.max(p[i] as number, EPS), 1 - EPS);
        s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
      }
      return n === 0 ? Number.NaN : s / n;
    }
    case 'brier': {
      let s = 0;
      for (let i = 0; i < n; i++) s += ((p[i] as number) - (y[i] as number)) ** 2;
      return n === 0 ? Number.NaN : s / n;
    }
    default:
      return undefined;
  }
}

function multiclassMetric(name: MetricName, y: ArrayLike<number>, P: ArrayLike<number>, k: number, pred: () => Int32Array): number | undefined {
  const n = y.length;
  const perClass = () => {
    const predicted = pred();
    const tp = new Float64Array(k);
    const support = new Float64Array(k);
    const predCount = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const t = y[i] as number;
      const q = predicted[i] as number;
      support[t] = (support[t] as number) + 1;
      predCount[q] = (predCount[q] as number) + 1;
      if (t === q) tp[t] = (tp[t] as number) + 1;
    }
    return { tp, support, predCount };
  };
  switch (name) {
    case 'accuracy': {
      const predicted = pred();
      let right = 0;
      for (let i = 0; i < n; i++) if (predicted[i] === y[i]) right++;
      return n === 0 ? Number.NaN : right / n;
    }
    case 'balanced_accuracy': {
      const { tp, support } = perClass();
      let s = 0;
      let c = 0;
      for (let j = 0; j < k; j++) {
        if ((support[j] as number) === 0) continue;
        s += (tp[j] as number) / (support[j] as number);
        c++;
      }
      return c === 0 ? Number.NaN : s / c;
    }
    case 'macro_f1':
    case 'weighted_f1': {
      const { tp, support, predCount } = perClass();
      let s = 0;
      let c = 0;
      for (let j = 0; j < k; j++) {
        const denom = (support[j] as number) + (predCount[j] as number);
        if (denom === 0) continue; // a class neither present nor predicted is not a label
        const f1 = (2 * (tp[j] as number)) / denom;
        if (name === 'macro_f1') {
          s += f1;
          c++;
        } else {
          s += f1 * (support[j] as number);
          c += support[j] as number;
        }
      }
      return c === 0 ? Number.NaN : s / c;
    }
    case 'logloss': {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const q = Math.min(Math.max(P[i * k + (y[i] as number)] as number, EPS), 1 - EPS);
        s -= Math.log(q);
      }
      return n === 0 ? Number.NaN : s / n;
    }
    case 'auc_ovr': {
      let s = 0;
      const yc = new Float64Array(n);
      const pc = new Float64Array(n);
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < n; i++) {
          yc[i] = y[i] === c ? 1 : 0;
          pc[i] = P[i * k + c] as number;
        }
        const a = auc(yc, pc);
        if (Number.isNaN(a)) return Number.NaN; // a class absent from y: one-vs-rest AUC is undefined
        s += a;
      }
      return s / k;
    }
    default:
      return undefined;
  }
}

function regressionMetric(name: MetricName, y: ArrayLike<number>, p: ArrayLike<number>): number | undefined {
  const n = y.length;
  if (n === 0) return Number.NaN;
  switch (name) {
    case 'rmse': {
      let s = 0;
      for (let i = 0; i < n; i++) s += ((y[i] as number) - (p[i] as number)) ** 2;
      return Math.sqrt(s / n);
    }
    case 'mae': {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs((y[i] as number) - (p[i] as number));
      return s / n;
    }
    case 'r2': {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += y[i] as number;
      mean /= n;
      let res = 0;
      let tot = 0;
      for (let i = 0; i < n; i++) {
        res += ((y[i] as number) - (p[i] as number)) ** 2;
        tot += ((y[i] as number) - mean) ** 2;
      }
      if (tot === 0) return res === 0 ? 1 : 0;
      return 1 - res / tot;
    }
    case 'mape': {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs((y[i] as number) - (p[i] as number)) / Math.max(Math.abs(y[i] as number), MAPE_EPS);
      return s / n;
    }
    default:
      return undefined;
  }
}

/**
 * The named metrics for one task's predictions, in the order given. A metric that does not apply
 * to the task is left out (the spec is checked for that before anything runs).
 */
export function computeTaskMetrics(input: TaskPredictions, names: readonly MetricName[]): Partial<Record<MetricName, number>> {
  const { task, y, pred } = input;
  const out: Partial<Record<MetricName, number>> = {};
  if (task === 'binary') {
    const threshold = input.threshold ?? 0.5;
    let cm: ConfusionMatrix | undefined;
    const confusion = () => (cm ??= binaryConfusion(y, pred, threshold));
    for (const name of names) {
      const v = binaryMetric(name, y, pred, threshold, confusion);
      if (v !== undefined) out[name] = v;
    }
  } else if (task === 'multiclass') {
    const k = input.numClasses ?? 0;
    let predicted: Int32Array | undefined;
    const labels = () => (predicted ??= argmaxRows(pred, y.length, k));
    for (const name of names) {
      const v = multiclassMetric(name, y, pred, k, labels);
      if (v !== undefined) out[name] = v;
    }
  } else {
    for (const name of names) {
      const v = regressionMetric(name, y, pred);
      if (v !== undefined) out[name] = v;
    }
  }
  return out;
}

export type ThresholdObjective = 'f1' | 'balanced_accuracy' | 'youden';

/**
 * The decision threshold that maximizes the objective on labelled rows (validation rows, never the
 * test rows): every distinct predicted probability is a candidate; ties go to the threshold
 * closest to 0.5.
 */
export function optimizeThreshold(y: ArrayLike<number>, p: ArrayLike<number>, objective: ThresholdObjective): { threshold: number; value: number } {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
  const negatives = n - positives;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  let best = { threshold: 0.5, value: -Infinity };
  for (const { threshold: s, tp, fp } of scoreSweep(y, p, order)) {
    // Predicting positive for p ≥ s.
    const fn = positives - tp;
    const tn = negatives - fp;
    const tpr = positives === 0 ? 0 : tp / positives;
    const tnr = negatives === 0 ? 0 : tn / negatives;
    const value = objective === 'f1' ? (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn)) : objective === 'balanced_accuracy' ? (tpr + tnr) / 2 : tpr + tnr - 1;
    if (value > best.value + 1e-12 || (Math.abs(value - best.value) <= 1e-12 && Math.abs(s - 0.5) < Math.abs(best.threshold - 0.5))) {
      best = { threshold: s, value };
    }
  }
  return best;
}
