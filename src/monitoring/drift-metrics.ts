/**
 * Per-feature drift metrics between a reference sample (training / ingest data) and a current
 * sample (recent production data), numerically matched to SciPy:
 *
 * - `psi`: Population Stability Index over bins cut at the reference quantiles (src/stats/psi.ts).
 * - `ksTwoSample`: two-sample Kolmogorov–Smirnov D and p-value (= scipy.stats.ks_2samp, two-sided).
 * - `jensenShannonNumeric` / `jensenShannonCategorical`: Jensen–Shannon distance
 *   (= scipy.spatial.distance.jensenshannon).
 * - `chiSquaredCategorical`: chi-squared test of homogeneity on the 2×k table
 *   (= scipy.stats.chi2_contingency(correction=False)).
 * - `labelShift`: pooled two-proportion z-test on the positive rate.
 * - `predictionShift`: PSI and KS of the predicted probabilities.
 */

import { chiSquaredHomogeneity, type ChiSquaredResult } from '../stats/chi-squared';
import { jensenShannon } from '../stats/jensen-shannon';
import { ksPValue, type KsMethod } from '../stats/kolmogorov';
import { psiFromCounts } from '../stats/psi';
import { DEFAULT_BINS } from '../stats/quantile-bins';
import { normalTwoSidedP } from '../stats/special-functions';
import { analyzeNumeric } from './numeric-analysis';

/** Category → count. Counts must be finite and ≥ 0. */
export type CategoryCounts = Readonly<Record<string, number>> | ReadonlyMap<string, number>;

/**
 * Population Stability Index of `current` against `reference` over `bins` reference-quantile bins
 * (default deciles; equal cut points merged). NaN when either sample has no finite values.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { bins?: number } = {}): number {
  const a = analyzeNumeric(reference, current, { bins: opts.bins ?? DEFAULT_BINS, ks: false });
  if (a.nReference === 0 || a.nCurrent === 0) return NaN;
  return psiFromCounts(a.referenceCounts, a.currentCounts);
}


export interface KsResult {
  /** sup |F_a − F_b| over the data. */
  statistic: number;
  pValue: number;
  /** How the p-value was computed. */
  method: 'exact' | 'asymp';
  n1: number;
  n2: number;
}

/**
 * Two-sample two-sided Kolmogorov–Smirnov test, as scipy.stats.ks_2samp(a, b, method=…). Ties
 * are handled exactly (the ECDFs are compared at every data point). Throws when a sample has no
 * finite values.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, opts: { method?: KsMethod } = {}): KsResult {
  const an = analyzeNumeric(a, b, { bins: 0, ks: true });
  if (an.nReference === 0 || an.nCurrent === 0 || an.ks === null) throw new RangeError('ksTwoSample: both samples need at least one finite value');
  const p = ksPValue(an.ks, an.nReference, an.nCurrent, opts.method ?? 'auto');
  return { statistic: p.statistic, pValue: p.pValue, method: p.method, n1: an.nReference, n2: an.nCurrent };
}


/** JS distance between two numeric samples over shared reference-quantile bins (default deciles). */
export function jensenShannonNumeric(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { bins?: number; base?: number } = {}): number {
  const a = analyzeNumeric(reference, current, { bins: opts.bins ?? DEFAULT_BINS, ks: false });
  if (a.nReference === 0 || a.nCurrent === 0) return NaN;
  return jensenShannon(a.referenceCounts, a.currentCounts, opts.base ?? 2);
}

/** Category → count as a Map (null-safe for any key, including "__proto__"). */
export function countsMap(c: CategoryCounts): Map<string, number> {
  const entries = c instanceof Map ? [...(c as ReadonlyMap<string, number>)] : Object.entries(c as Record<string, number>);
  const out = new Map<string, number>();
  for (const [k, v] of entries) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new RangeError(`category "${k}": count must be a finite number >= 0, got ${String(v)}`);
    if (v > 0) out.set(k, (out.get(k) ?? 0) + v);
  }
  return out;
}

/** Aligned count vectors over the union of categories present on either side (sorted by name). */
function alignCategories(ref: CategoryCounts, cur: CategoryCounts): { categories: string[]; ref: number[]; cur: number[] } {
  const r = countsMap(ref);
  const c = countsMap(cur);
  const categories = [...new Set([...r.keys(), ...c.keys()])].sort();
  return { categories, ref: categories.map((k) => r.get(k) ?? 0), cur: categories.map((k) => c.get(k) ?? 0) };
}

/** JS distance between two categorical frequency maps (categories missing on one side count 0). */
export function jensenShannonCategorical(refCounts: CategoryCounts, curCounts: CategoryCounts, base = 2): number {
  const { ref, cur } = alignCategories(refCounts, curCounts);
  if (ref.length === 0) return NaN;
  return jensenShannon(ref, cur, base);
}


/**
 * Chi-squared test of homogeneity of two categorical samples (counts per category), as
 * scipy.stats.chi2_contingency([ref, cur], correction=False) on the categories seen on either
 * side (categories absent from both are dropped — scipy would reject their zero expected
 * counts). dof = categories − 1; with a single category the test is degenerate: statistic 0, p 1.
 */
export function chiSquaredCategorical(refCounts: CategoryCounts, curCounts: CategoryCounts): ChiSquaredResult {
  const { ref, cur } = alignCategories(refCounts, curCounts);
  return chiSquaredHomogeneity(ref, cur);
}

export interface LabelShiftResult {
  /** current − reference positive rate. */
  difference: number;
  z: number;
  /** Two-sided p-value of the pooled two-proportion z-test. */
  pValue: number;
}

/**
 * Label shift: pooled two-proportion z-test of the positive rate, z = (p₂ − p₁)/√(p̂(1−p̂)(1/n₁ + 1/n₂))
 * with p̂ the pooled rate; two-sided p = erfc(|z|/√2). When p̂ is 0 or 1 both rates are equal: z 0, p 1.
 */
export function labelShift(refPositiveRate: number, curPositiveRate: number, nRef: number, nCur: number): LabelShiftResult {
  if (!(nRef > 0 && nCur > 0)) throw new RangeError('labelShift: sample sizes must be positive');
  for (const r of [refPositiveRate, curPositiveRate]) if (!(r >= 0 && r <= 1)) throw new RangeError(`labelShift: rate ${r} is not in [0, 1]`);
  const difference = curPositiveRate - refPositiveRate;
  const pooled = (refPositiveRate * nRef + curPositiveRate * nCur) / (nRef + nCur);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nRef + 1 / nCur));
  if (!(se > 0)) return { difference, z: 0, pValue: 1 };
  const z = difference / se;
  return { difference, z, pValue: normalTwoSidedP(z) };
}

/** Shift of the predicted-probability distribution: PSI (reference-quantile deciles) and KS. */
export function predictionShift(refPredictions: ArrayLike<number>, curPredictions: ArrayLike<number>, opts: { bins?: number; ksMethod?: KsMethod } = {}): { psi: number; ks: KsResult } {
  const a = analyzeNumeric(refPredictions, curPredictions, { bins: opts.bins ?? DEFAULT_BINS, ks: true });
  if (a.ks === null) throw new RangeError('predictionShift: both samples need at least one finite value');
  const p = ksPValue(a.ks, a.nReference, a.nCurrent, opts.ksMethod ?? 'auto');
  return {
    psi: psiFromCounts(a.referenceCounts, a.currentCounts),
    ks: { statistic: p.statistic, pValue: p.pValue, method: p.method, n1: a.nReference, n2: a.nCurrent },
  };
}
