/**
 * The drift driver: every reference feature's drift between a reference sample (training /
 * ingest data) and a current sample (recent production data), with a verdict. The statistics
 * live in src/stats/ and src/monitoring/drift-metrics.ts; numeric features go through one
 * `analyzeNumeric` pass (src/monitoring/numeric-analysis.ts).
 */

import { chiSquaredHomogeneity, type ChiSquaredResult } from '../stats/chi-squared';
import { jensenShannon } from '../stats/jensen-shannon';
import { ksPValue, type KsMethod } from '../stats/kolmogorov';
import { psiFromCounts } from '../stats/psi';
import { DEFAULT_BINS } from '../stats/quantile-bins';
import { chiSquaredCategorical, countsMap, jensenShannonCategorical, type CategoryCounts } from './drift-metrics';
import { analyzeNumeric } from './numeric-analysis';

export type DriftMethod = 'psi' | 'ks' | 'js' | 'chi2';
export type CategoricalDriftMethod = 'chi2' | 'js';
export type DriftVerdict = 'drift' | 'no_drift' | 'insufficient_data';
export type FeatureKind = 'numeric' | 'categorical';

/**
 * One feature's values: numbers (typed array or array), raw categorical values (strings or
 * booleans; `null`/`undefined` are missing) or already-counted categories.
 */
export type FeatureValues = ArrayLike<number> | readonly (string | number | boolean | null | undefined)[] | CategoryCounts;

/**
 * Default thresholds. PSI and JS are distances: drift when value > threshold (0.2 is the usual
 * "significant shift" PSI level; 0.1 for the base-2 JS distance). KS and chi2 are tests: the
 * threshold is the significance level, drift when p-value < threshold.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = { psi: 0.2, js: 0.1, ks: 0.05, chi2: 0.05 };

const IS_TEST: Readonly<Record<DriftMethod, boolean>> = { psi: false, js: false, ks: true, chi2: true };
// =============================================================================================
// The driver
// =============================================================================================

export interface FeatureDriftOptions {
  /** Method for numeric features. 'chi2' on numeric data tests the reference-quantile bins. */
  method: DriftMethod;
  /** Threshold of `method` (see DEFAULT_THRESHOLDS for its meaning per method). */
  threshold: number;
  /** Per-feature thresholds, overriding `threshold` / `categoricalThreshold` for that feature. */
  perFeature?: Readonly<Record<string, number>>;
  /** Features with fewer non-missing values than this (in either sample) are `insufficient_data`. */
  minSamples: number;
  /** Categorical features use this whatever `method` says. Default 'chi2'. */
  categoricalMethod?: CategoricalDriftMethod;
  /**
   * Threshold for categorical features. Default: `threshold` when it means the same thing (same
   * method, or both significance levels), else DEFAULT_THRESHOLDS[categoricalMethod].
   */
  categoricalThreshold?: number;
  /** Quantile bins for numeric features (PSI, JS, binned chi2, report histograms). Default 10. */
  bins?: number;
  /** Extra numeric metrics. PSI, JS and binned chi2 are always reported (they are free); 'ks' costs a gather pass. */
  metrics?: readonly DriftMethod[];
  /** KS p-value method. Default 'auto' (scipy's). */
  ksMethod?: KsMethod;
  /** Force a feature's kind (e.g. integer-coded categories given as numbers). */
  kinds?: Readonly<Record<string, FeatureKind>>;
  /** Categories kept in a categorical histogram; the rest are summed as "(other)". Default 20. */
  histogramCategories?: number;
}

export interface DriftHistogram {
  /** Numeric features: the bin cut points (labels are derived from them). */
  edges?: number[];
  /** Categorical features: the category of each bar ("(other)" last when categories were cut). */
  labels?: string[];
  /** Proportions per bar. */
  reference: number[];
  current: number[];
}

export interface FeatureMetrics {
  psi?: number;
  js?: number;
  ks?: { statistic: number; pValue: number; method: 'exact' | 'asymp' };
  chi2?: ChiSquaredResult;
}

export interface FeatureDriftResult {
  feature: string;
  kind: FeatureKind;
  method: DriftMethod;
  /** The method's value (PSI, JS distance, KS D, chi2 statistic); null when not computed. */
  value: number | null;
  /** KS and chi2 only. */
  pValue?: number | null;
  threshold: number;
  drifted: boolean;
  status: DriftVerdict;
  /** Non-missing values in the current sample. */
  n: number;
  /** Non-missing values in the reference sample. */
  nReference: number;
  metrics: FeatureMetrics;
  histogram?: DriftHistogram;
}

export interface DriftReport {
  /** 'drift' when any feature drifted; 'insufficient_data' when no feature had enough data; else 'no_drift'. */
  verdict: DriftVerdict;
  method: DriftMethod;
  categoricalMethod: CategoricalDriftMethod;
  minSamples: number;
  features: FeatureDriftResult[];
  drifted: string[];
  insufficient: string[];
  /** Reference features absent from the current data. */
  missing: string[];
  /** Current features that the reference does not have (not evaluated). */
  unexpected: string[];
}

function isCountsObject(v: unknown): v is CategoryCounts {
  return v instanceof Map || (typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v));
}

/** The kind a value set looks like, or undefined when it cannot tell (empty / all missing). */
function detectKind(v: FeatureValues): FeatureKind | undefined {
  if (ArrayBuffer.isView(v)) return 'numeric';
  if (isCountsObject(v)) return 'categorical';
  const arr = v as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (x === null || x === undefined) continue;
    return typeof x === 'number' ? 'numeric' : 'categorical';
  }
  return undefined;
}

/**
 * Counts of raw categorical values (null/undefined skipped; other values by String()), in order of
 * first appearance. The index is a prototype-less object rather than a Map: V8's keyed property
 * lookups with string keys took about two thirds of a Map's time per value here (bench/drift-throughput.ts).
 */
export function countCategories(values: ArrayLike<unknown>): Map<string, number> {
  const index = Object.create(null) as Record<string, number | undefined>;
  // Object keys that look like integers enumerate first; this keeps the order of first appearance.
  const keys: string[] = [];
  let counts = new Float64Array(16);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const key = typeof v === 'string' ? v : String(v);
    let k = index[key];
    if (k === undefined) {
      k = keys.length;
      index[key] = k;
      keys.push(key);
      if (k === counts.length) {
        const grown = new Float64Array(counts.length * 2);
        grown.set(counts);
        counts = grown;
      }
    }
    counts[k]!++;
  }
  const out = new Map<string, number>();
  for (let k = 0; k < keys.length; k++) out.set(keys[k]!, counts[k]!);
  return out;
}

function asCategoryCounts(v: FeatureValues): Map<string, number> {
  if (isCountsObject(v)) return countsMap(v);
  return countCategories(v);
}

const sumCounts = (m: ReadonlyMap<string, number>): number => {
  let s = 0;
  for (const c of m.values()) s += c;
  return s;
};

function decide(method: DriftMethod, value: number | null, pValue: number | null | undefined, threshold: number): boolean {
  if (IS_TEST[method]) return pValue !== null && pValue !== undefined && pValue < threshold;
  return value !== null && value > threshold;
}

const finiteOrNull = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

/**
 * Drift of every reference feature: `reference` and `current` map feature names to values.
 * Numeric features use `options.method`; categorical features always use
 * `options.categoricalMethod` (chi2 by default). A feature with fewer than `minSamples`
 * non-missing values on either side is `insufficient_data` and never drifts. The reference's
 * features absent from `current` are listed in `missing`.
 */
export function featureDrift(reference: Readonly<Record<string, FeatureValues>>, current: Readonly<Record<string, FeatureValues>>, options: FeatureDriftOptions): DriftReport {
  const { method, threshold, minSamples } = options;
  const categoricalMethod = options.categoricalMethod ?? 'chi2';
  const categoricalThreshold =
    options.categoricalThreshold ??
    (categoricalMethod === method || (IS_TEST[categoricalMethod] && IS_TEST[method]) ? threshold : DEFAULT_THRESHOLDS[categoricalMethod]);
  const bins = options.bins ?? DEFAULT_BINS;
  const wantKs = method === 'ks' || (options.metrics ?? []).includes('ks');
  const maxCats = options.histogramCategories ?? 20;

  const features: FeatureDriftResult[] = [];
  const missing: string[] = [];
  for (const feature of Object.keys(reference)) {
    const refValues = reference[feature]!;
    if (!Object.prototype.hasOwnProperty.call(current, feature) || current[feature] === undefined) {
      missing.push(feature);
      continue;
    }
    const curValues = current[feature];
    const kind: FeatureKind = options.kinds?.[feature] ?? detectKind(refValues) ?? detectKind(curValues) ?? 'numeric';
    if (kind === 'categorical') {
      const th = options.perFeature?.[feature] ?? categoricalThreshold;
      const ref = asCategoryCounts(refValues);
      const cur = asCategoryCounts(curValues);
      const nReference = sumCounts(ref);
      const n = sumCounts(cur);
      const base: FeatureDriftResult = { feature, kind, method: categoricalMethod, value: null, threshold: th, drifted: false, status: 'insufficient_data', n, nReference, metrics: {} };
      if (IS_TEST[categoricalMethod]) base.pValue = null;
      if (n < minSamples || nReference < minSamples || n === 0 || nReference === 0) {
        features.push(base);
        continue;
      }
      const chi2 = chiSquaredCategorical(ref, cur);
      const js = jensenShannonCategorical(ref, cur);
      const value = categoricalMethod === 'chi2' ? chi2.statistic : js;
      const pValue = categoricalMethod === 'chi2' ? chi2.pValue : undefined;
      const drifted = decide(categoricalMethod, value, pValue, th);
      const result: FeatureDriftResult = { ...base, value: finiteOrNull(value), drifted, status: drifted ? 'drift' : 'no_drift', metrics: { chi2, js }, histogram: categoryHistogram(ref, cur, nReference, n, maxCats) };
      if (pValue !== undefined) result.pValue = finiteOrNull(pValue);
      features.push(result);
      continue;
    }

    const th = options.perFeature?.[feature] ?? threshold;
    if (isCountsObject(refValues) || isCountsObject(curValues)) {
      throw new TypeError(`feature "${feature}": numeric features need value arrays, not category counts (set options.kinds["${feature}"] = 'categorical')`);
    }
    const base: FeatureDriftResult = { feature, kind, method, value: null, threshold: th, drifted: false, status: 'insufficient_data', n: 0, nReference: 0, metrics: {} };
    if (IS_TEST[method]) base.pValue = null;
    const a = analyzeNumeric(refValues as ArrayLike<number>, curValues as ArrayLike<number>, { bins, ks: wantKs });
    base.n = a.nCurrent;
    base.nReference = a.nReference;
    if (a.nCurrent < minSamples || a.nReference < minSamples || a.nCurrent === 0 || a.nReference === 0) {
      features.push(base);
      continue;
    }
    const metrics: FeatureMetrics = {
      psi: psiFromCounts(a.referenceCounts, a.currentCounts),
      js: jensenShannon(a.referenceCounts, a.currentCounts),
      chi2: chiSquaredHomogeneity(a.referenceCounts, a.currentCounts),
    };
    if (a.ks !== null) {
      const k = ksPValue(a.ks, a.nReference, a.nCurrent, options.ksMethod ?? 'auto');
      metrics.ks = { statistic: k.statistic, pValue: k.pValue, method: k.method };
    }
    let value: number;
    let pValue: number | undefined;
    switch (method) {
      case 'psi':
        value = metrics.psi!;
        break;
      case 'js':
        value = metrics.js!;
        break;
      case 'ks':
        value = metrics.ks!.statistic;
        pValue = metrics.ks!.pValue;
        break;
      case 'chi2':
        value = metrics.chi2!.statistic;
        pValue = metrics.chi2!.pValue;
        break;
    }
    const drifted = decide(method, value, pValue, th);
    const result: FeatureDriftResult = {
      ...base,
      value: finiteOrNull(value),
      drifted,
      status: drifted ? 'drift' : 'no_drift',
      metrics,
      histogram: { edges: a.edges, reference: a.referenceCounts.map((c) => c / a.nReference), current: a.currentCounts.map((c) => c / a.nCurrent) },
    };
    if (pValue !== undefined) result.pValue = finiteOrNull(pValue);
    features.push(result);
  }
  const refNames = new Set(Object.keys(reference));
  const unexpected = Object.keys(current).filter((k) => !refNames.has(k));
  const drifted = features.filter((f) => f.drifted).map((f) => f.feature);
  const insufficient = features.filter((f) => f.status === 'insufficient_data').map((f) => f.feature);
  const evaluated = features.length - insufficient.length;
  const verdict: DriftVerdict = drifted.length > 0 ? 'drift' : evaluated === 0 ? 'insufficient_data' : 'no_drift';
  return { verdict, method, categoricalMethod, minSamples, features, drifted, insufficient, missing, unexpected };
}

function categoryHistogram(ref: ReadonlyMap<string, number>, cur: ReadonlyMap<string, number>, nRef: number, nCur: number, max: number): DriftHistogram {
  const cats = [...new Set([...ref.keys(), ...cur.keys()])];
  // Most frequent first (reference, then current), ties by name.
  cats.sort((x, y) => (ref.get(y) ?? 0) - (ref.get(x) ?? 0) || (cur.get(y) ?? 0) - (cur.get(x) ?? 0) || (x < y ? -1 : x > y ? 1 : 0));
  const keep = cats.length > max ? cats.slice(0, Math.max(1, max - 1)) : cats;
  const labels = [...keep];
  const reference = keep.map((c) => (ref.get(c) ?? 0) / nRef);
  const current = keep.map((c) => (cur.get(c) ?? 0) / nCur);
  if (keep.length < cats.length) {
    labels.push('(other)');
    reference.push(Math.max(0, 1 - reference.reduce((s, x) => s + x, 0)));
    current.push(Math.max(0, 1 - current.reduce((s, x) => s + x, 0)));
  }
  return { labels, reference, current };
}
