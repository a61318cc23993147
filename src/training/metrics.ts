/**
 * Binary-classification metrics over 0/1 labels and predicted probabilities of class 1.
 * Thresholded metrics (accuracy, precision, recall, f1, confusion matrix) call a prediction
 * positive when its probability is >= 0.5.
 */
import { METRICS, type MetricName } from '../spec/pipeline-spec';
import { computeTaskMetrics } from './task-metrics';

export type { MetricName };
export type Metrics = Partial<Record<MetricName, number>>;

export const DEFAULT_THRESHOLD = 0.5;
const LOGLOSS_EPS = 1e-15;

/** Metrics where a lower value is better; every other metric is higher-is-better. */
const LOWER_IS_BETTER: ReadonlySet<MetricName> = new Set(['logloss', 'brier', 'rmse', 'mae', 'mape']);

export function lowerIsBetter(metric: MetricName): boolean {
  return LOWER_IS_BETTER.has(metric);
}

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  /** Scores >= threshold count as positive at this point (Infinity for the (0,0) start). */
  threshold: number;
}

function checkLengths(yTrue: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (yTrue.length !== scores.length) {
    throw new RangeError(`labels and predictions differ in length (${yTrue.length} vs ${scores.length})`);
  }
}

export function confusionMatrix(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): ConfusionMatrix {
  checkLengths(yTrue, proba);
  const m: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const positive = (proba[i] as number) >= threshold;
    if (yTrue[i] === 1) {
      if (positive) m.tp++;
      else m.fn++;
    } else if (positive) m.fp++;
    else m.tn++;
  }
  return m;
}

export function accuracy(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): number {
  const m = confusionMatrix(yTrue, proba, threshold);
  const n = m.tp + m.fp + m.tn + m.fn;
  return n === 0 ? Number.NaN : (m.tp + m.tn) / n;
}

/** tp / (tp + fp); 0 when nothing is predicted positive. */
export function precision(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): number {
  return precisionOf(confusionMatrix(yTrue, proba, threshold));
}

/** tp / (tp + fn); 0 when there are no positives. */
export function recall(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): number {
  return recallOf(confusionMatrix(yTrue, proba, threshold));
}

/** Harmonic mean of precision and recall, 2tp / (2tp + fp + fn); 0 when tp is 0. */
export function f1(yTrue: ArrayLike<number>, proba: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): number {
  return f1Of(confusionMatrix(yTrue, proba, threshold));
}

function precisionOf(m: ConfusionMatrix): number {
  return m.tp + m.fp === 0 ? 0 : m.tp / (m.tp + m.fp);
}
function recallOf(m: ConfusionMatrix): number {
  return m.tp + m.fn === 0 ? 0 : m.tp / (m.tp + m.fn);
}
function f1Of(m: ConfusionMatrix): number {
  return m.tp === 0 ? 0 : (2 * m.tp) / (2 * m.tp + m.fp + m.fn);
}

/** Mean binary cross-entropy with probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logloss(yTrue: ArrayLike<number>, proba: ArrayLike<number>): number {
  checkLengths(yTrue, proba);
  if (yTrue.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(proba[i] as number, LOGLOSS_EPS), 1 - LOGLOSS_EPS);
    sum -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / yTrue.length;
}

/** Indices sorted by descending score (stable, so equal scores keep input order). */
function byScoreDescending(scores: ArrayLike<number>): Uint32Array {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`prediction ${i} is NaN`);
  }
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
}

/**
 * Area under the ROC curve, computed from ranks (Mann–Whitney U): the probability that a random
 * positive scores above a random negative, counting ties as one half. NaN when either class is
 * absent.
 */
export function auc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(yTrue, scores);
  const n = yTrue.length;
  let positives = 0;
  for (let k = 0; k < n; k++) if (yTrue[k] === 1) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  // Walk from the highest score down in groups of equal scores: each positive in a group beats
  // every negative below the group and ties with the negatives inside it.
  const order = byScoreDescending(scores);
  let negativesBelow = negatives;
  let wins = 0;
  let i = 0;
  while (i < n) {
    const s = scores[order[i] as number] as number;
    let groupPos = 0;
    let groupNeg = 0;
    while (i < n && scores[order[i] as number] === s) {
      if (yTrue[order[i] as number] === 1) groupPos++;
      else groupNeg++;
      i++;
    }
    negativesBelow -= groupNeg;
    wins += groupPos * (negativesBelow + groupNeg / 2);
  }
  return wins / (positives * negatives);
}

/**
 * Cumulative true and false positives at each distinct score of `order` (scores descending):
 * predicting positive for every score ≥ `threshold`. The one sweep behind ROC, PR, average
 * precision and threshold choice.
 */
export function* scoreSweep(y: ArrayLike<number>, p: ArrayLike<number>, order: ArrayLike<number>): Generator<{ threshold: number; tp: number; fp: number }> {
  const n = order.length;
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const s = p[order[i] as number] as number;
    while (i < n && p[order[i] as number] === s) {
      if (y[order[i] as number] === 1) tp++;
      else fp++;
      i++;
    }
    yield { threshold: s, tp, fp };
  }
}

/**
 * ROC curve points from (0,0) to (1,1), one per distinct score. With `maxPoints`, long curves are
 * thinned to about that many points (always keeping the first and last).
 */
export function rocCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>, options: { maxPoints?: number } = {}): RocPoint[] {
  checkLengths(yTrue, scores);
  const n = yTrue.length;
  let positives = 0;
  for (let k = 0; k < n; k++) if (yTrue[k] === 1) positives++;
  const negatives = n - positives;
  const order = byScoreDescending(scores);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY }];
  for (const { threshold, tp, fp } of scoreSweep(yTrue, scores, order)) {
    points.push({ fpr: negatives === 0 ? 0 : fp / negatives, tpr: positives === 0 ? 0 : tp / positives, threshold });
  }
  const max = options.maxPoints;
  if (max === undefined || points.length <= max || max < 2) return points;
  const step = (points.length - 1) / (max - 1);
  const thinned: RocPoint[] = [];
  for (let k = 0; k < max; k++) thinned.push(points[Math.round(k * step)] as RocPoint);
  return thinned;
}

/** Binary metrics (see task-metrics.ts for every task), in the order given. */
export function computeMetrics(yTrue: ArrayLike<number>, proba: ArrayLike<number>, names: readonly MetricName[] = METRICS, threshold = DEFAULT_THRESHOLD): Metrics {
  checkLengths(yTrue, proba);
  return computeTaskMetrics({ task: 'binary', y: yTrue, pred: proba, threshold }, names);
}

/** Short human form of a metric value: at most 4 decimals, no trailing zeros. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toFixed(4)));
}

export interface ThresholdMiss {
  metric: MetricName;
  /** undefined when the metric was not computed. */
  value: number | undefined;
  threshold: number;
  message: string;
}

/**
 * Checks `evaluate.thresholds`: a maximum for the lower-is-better metrics (logloss, brier, rmse,
 * mae, mape), a minimum for every other.
 * Returns one entry per missed threshold (empty when all pass). A threshold on a metric that was
 * not computed, or came out NaN, is a miss.
 */
export function checkThresholds(metrics: Metrics, thresholds: Partial<Record<MetricName, number>>): ThresholdMiss[] {
  const misses: ThresholdMiss[] = [];
  for (const metric of METRICS) {
    const threshold = thresholds[metric];
    if (threshold === undefined) continue;
    const value = metrics[metric];
    if (value === undefined) {
      misses.push({ metric, value, threshold, message: `${metric} was not computed, so threshold ${formatMetric(threshold)} cannot be checked` });
    } else if (Number.isNaN(value)) {
      misses.push({ metric, value, threshold, message: `${metric} is undefined (NaN; is one class missing from the test data?), threshold ${formatMetric(threshold)}` });
    } else if (lowerIsBetter(metric) ? value > threshold : value < threshold) {
      const op = lowerIsBetter(metric) ? '>' : '<';
      misses.push({ metric, value, threshold, message: `${metric} ${formatMetric(value)} ${op} threshold ${formatMetric(threshold)}` });
    }
  }
  return misses;
}

export interface ChampionComparison {
  metric: MetricName;
  candidate: number | undefined;
  champion: number | undefined;
  /** How much better the candidate is (positive = better, whichever direction the metric runs). */
  improvement: number | undefined;
  minImprovement: number;
  /** true when the candidate should replace the champion. */
  better: boolean;
  message: string;
}

/**
 * The candidate wins when it improves on the champion by at least `minImprovement` (so with the
 * default 0 an equal score wins too). With no champion value the candidate wins; with no
 * candidate value (or NaN) it loses.
 */
export function compareToChampion(
  candidate: Metrics,
  champion: Metrics | undefined,
  options: { metric: MetricName; minImprovement?: number },
): ChampionComparison {
  const { metric } = options;
  const minImprovement = options.minImprovement ?? 0;
  const c = candidate[metric];
  const ch = champion?.[metric];
  const base = { metric, candidate: c, champion: ch, minImprovement };
  if (c === undefined || Number.isNaN(c)) {
    return { ...base, improvement: undefined, better: false, message: `candidate has no ${metric} value` };
  }
  if (ch === undefined || Number.isNaN(ch)) {
    return { ...base, improvement: undefined, better: true, message: `no champion ${metric} to compare with; candidate ${metric} ${formatMetric(c)}` };
  }
  const improvement = lowerIsBetter(metric) ? ch - c : c - ch;
  // Compare with a little slack so 0.80 - 0.78 >= 0.02 holds despite floating point.
  const better = improvement >= minImprovement - 1e-12;
  const verb = better ? 'beats' : 'does not beat';
  const req = minImprovement > 0 ? ` by the required ${formatMetric(minImprovement)}` : '';
  return {
    ...base,
    improvement,
    better,
    message: `candidate ${metric} ${formatMetric(c)} ${verb} champion ${formatMetric(ch)}${req} (improvement ${formatMetric(improvement)})`,
  };
}
