/**
 * Reference-quantile bins, the binning every binned drift statistic (PSI, JS distance, binned
 * chi-squared, report histograms) shares:
 * the cut points are the reference quantiles at levels i/bins, i = 1 … bins−1, computed like
 * numpy's default `np.quantile(ref, q)` (method "linear": virtual index (n−1)·q, numpy's `_lerp`).
 * Equal cut points are merged (discrete data), so there may be fewer than `bins` bins. Bins are
 * closed on the right and open-ended at both extremes: (−∞, e₁], (e₁, e₂], …, (e_k, +∞); a
 * value's bin is the number of cut points strictly below it (`np.searchsorted(edges, x, side='left')`).
 *
 * Numeric samples are `ArrayLike<number>` (a `Float64Array` is the fast path). Non-finite values
 * (NaN, ±Infinity, and `null`/non-numbers in plain arrays) are missing and ignored.
 */

/** Default bins (deciles) for PSI and for the numeric JS distance. */
export const DEFAULT_BINS = 10;

/** A Float64Array view of `values`; plain arrays are copied with non-numbers as NaN. */
export function toFloat64(values: ArrayLike<number>): Float64Array {
  if (values instanceof Float64Array) return values;
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as unknown;
    out[i] = typeof v === 'number' ? v : NaN;
  }
  return out;
}

export function finiteSorted(a: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! === 0) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x === 0) out[j++] = x;
  }
  return out.sort();
}

/** numpy's `_lerp`: a + (b − a)·t, computed from the nearer end. */
export function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Virtual index (n−1)·q → (previous index, next index, gamma), as numpy's 'linear' quantile. */
export function quantileIndex(n: number, q: number): [number, number, number] {
  const vi = (n - 1) * q;
  if (vi >= n - 1) return [n - 1, n - 1, vi - Math.floor(vi)];
  const prev = Math.floor(vi);
  return [prev, prev + 1, vi - prev];
}

/** Cut points at the reference quantiles i/bins (i = 1 … bins−1), equal ones merged. */
export function edgesFromOrderStats(n: number, bins: number, at: (rank: number) => number): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const [p, nx, gamma] = quantileIndex(n, i / bins);
    const e = lerp(at(p), at(nx), gamma);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

/**
 * The reference-quantile cut points of `reference` (see the module doc): `bins − 1` quantiles,
 * equal ones merged. Empty when the sample has no finite values.
 */
export function quantileEdges(reference: ArrayLike<number>, bins = DEFAULT_BINS): number[] {
  const sorted = finiteSorted(toFloat64(reference));
  if (sorted.length === 0) return [];
  return edgesFromOrderStats(sorted.length, bins, (r) => sorted[r]!);
}

/** Index of the first element of sorted `a` that is > x (count of elements ≤ x). */
export function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of sorted `a` that is ≥ x (count of elements < x). */
export function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts of `values` in the bins cut at `edges` (edges.length + 1 bins, right-closed, open-ended):
 * one binary search over the edges per value. Non-finite values are skipped.
 */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const a = toFloat64(values);
  const e = Float64Array.from(edges);
  const counts = new Float64Array(e.length + 1);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) continue;
    counts[lowerBound(e, x)]!++;
  }
  return counts;
}

// --- Bins read off a stored quantile function (a profile's 101 percentiles) ------------------

/**
 * Cut points at the quantiles i/bins (i = 1 … bins−1) of a 101-point quantile function
 * (percentiles 0 … 100), equal ones merged, as `quantileEdges` cuts a sample.
 */
export function edgesFromPercentiles(percentiles: readonly number[], bins = DEFAULT_BINS): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = percentiles[Math.round((100 * i) / bins)]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

/** Fraction of values <= x, from a 101-point quantile function (linear between percentiles). */
export function cdfFromPercentiles(percentiles: readonly number[], x: number): number {
  const last = percentiles.length - 1;
  if (x < percentiles[0]!) return 0;
  if (x >= percentiles[last]!) return 1;
  let lo = 0;
  let hi = last; // invariant: p[lo] <= x < p[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (percentiles[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const a = percentiles[lo]!;
  const b = percentiles[hi]!;
  return (lo + (b > a ? (x - a) / (b - a) : 0)) / last;
}

/** The fraction of values in each of the edges.length + 1 bins, from a 101-point quantile function. */
export function binFractionsFromPercentiles(percentiles: readonly number[], edges: readonly number[]): number[] {
  const fractions: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const at = cdfFromPercentiles(percentiles, e);
    fractions.push(at - prev);
    prev = at;
  }
  fractions.push(1 - prev);
  return fractions;
}
