/**
 * Everything numeric drift needs from one (reference, current) pair in one go: the
 * reference-quantile bin edges (src/stats/quantile-bins.ts), both samples' bin counts and the
 * two-sample KS statistic.
 *
 * Large samples are never sorted whole: a numeric feature costs two linear passes over each
 * sample (bucket counts, then gathering the few buckets that matter), and is exact — the same
 * edges, counts and KS statistic as sorting both samples (see `bucketAnalyze`).
 */

import { edgesFromOrderStats, finiteSorted, quantileIndex, toFloat64, upperBound } from '../stats/quantile-bins';

export interface NumericAnalysis {
  /** Finite values in each sample. */
  nReference: number;
  nCurrent: number;
  /** Reference-quantile cut points (empty when bins were not asked for or the reference is empty). */
  edges: number[];
  /** Per-bin counts, edges.length + 1 entries (empty when bins were not asked for). */
  referenceCounts: number[];
  currentCounts: number[];
  /** Two-sample KS D (null when not asked for or a sample is empty). */
  ks: number | null;
}

export interface AnalyzeOptions {
  /** Quantile bins for PSI/JS/histograms; 0 = none. */
  bins: number;
  ks: boolean;
  /**
   * 'sort' sorts both samples; 'bucket' never sorts them whole (two linear passes per sample);
   * 'auto' (default) buckets once the samples hold 40,000 values together. Both are exact and
   * give identical results; the choice is exposed for tests.
   */
  engine?: 'auto' | 'sort' | 'bucket';
  /** Buckets of the 'bucket' engine (default: up to 65,536). For tests. */
  buckets?: number;
}

const BUCKET_ENGINE_MIN = 40_000;

/**
 * Everything numeric drift needs from one (reference, current) pair: the reference-quantile bin
 * edges, both samples' bin counts and the KS statistic.
 */
export function analyzeNumeric(reference: ArrayLike<number>, current: ArrayLike<number>, options: AnalyzeOptions): NumericAnalysis {
  const ref = toFloat64(reference);
  const cur = toFloat64(current);
  const engine = options.engine ?? 'auto';
  if (engine === 'bucket' || (engine === 'auto' && ref.length + cur.length >= BUCKET_ENGINE_MIN)) {
    const buckets = Math.max(1, (options.buckets ?? Math.min(65_536, Math.max(16, 2 ** Math.ceil(Math.log2((ref.length + cur.length) / 16))))) | 0);
    const out = bucketAnalyze(ref, cur, options.bins, options.ks, buckets);
    if (out) return out;
  }
  return sortAnalyze(ref, cur, options.bins, options.ks);
}

function countsAtEdges(sorted: Float64Array, edges: readonly number[]): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const le = upperBound(sorted, e);
    counts.push(le - prev);
    prev = le;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Max |F_ref − F_cur| over the data points, exactly as scipy computes it. */
function ksSorted(r: Float64Array, c: Float64Array): number {
  const n = r.length;
  const m = c.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const ri = r[i]!;
    const cj = c[j]!;
    const v = ri <= cj ? ri : cj;
    while (i < n && r[i]! <= v) i++;
    while (j < m && c[j]! <= v) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  return d;
}

function sortAnalyze(ref: Float64Array, cur: Float64Array, bins: number, wantKs: boolean): NumericAnalysis {
  const r = finiteSorted(ref);
  const c = finiteSorted(cur);
  const edges = bins > 0 && r.length > 0 ? edgesFromOrderStats(r.length, bins, (k) => r[k]!) : [];
  return {
    nReference: r.length,
    nCurrent: c.length,
    edges,
    referenceCounts: bins > 0 && r.length > 0 ? countsAtEdges(r, edges) : [],
    currentCounts: bins > 0 && r.length > 0 ? countsAtEdges(c, edges) : [],
    ks: wantKs && r.length > 0 && c.length > 0 ? ksSorted(r, c) : null,
  };
}

/**
 * The bucket engine. Values fall into B equal-width buckets over a range taken from a strided
 * sample of both inputs, plus one open bucket below and one above it; the bucket index is
 * monotone in the value, so every value of a higher bucket is strictly greater.
 *
 * 1. Count pass: per-bucket counts of both samples. The ECDFs at bucket boundaries are then exact,
 *    so the largest boundary difference is a lower bound on D; within a bucket the difference
 *    cannot exceed max(R₁/n − C₀/m, C₁/m − R₀/n), so only buckets whose bound beats the lower
 *    bound can hold D ("candidates", a handful for continuous data).
 * 2. Gather pass: copy out the values of the candidate buckets and of the buckets holding the
 *    reference order statistics the quantile edges need (and, for the current sample, every
 *    bucket an edge can fall in).
 * 3. Edges from the order statistics (their buckets sorted); bin counts = boundary cumulative
 *    counts + a binary search in the edge's bucket. D = the boundary maximum, raised by refining
 *    the candidates (`ksRefine`: sort-and-merge small buckets, split large ones again).
 * Returns null (use the sort engine) when no usable range exists.
 */
function bucketAnalyze(ref: Float64Array, cur: Float64Array, bins: number, wantKs: boolean, B: number): NumericAnalysis | null {
  const range = sampleRange(ref, cur);
  if (!range) return null;
  const { lo, hi } = range;
  const span = hi - lo;
  if (!(span < Infinity)) return null;
  const scale = span > 0 ? B / span : 0;
  if (!Number.isFinite(scale)) return null;
  const NB = B + 2;
  const refHist = new Int32Array(NB);
  const curHist = new Int32Array(NB);
  const nRef = countPass(ref, lo, hi, scale, B, refHist);
  const nCur = countPass(cur, lo, hi, scale, B, curHist);
  const bucketOf = (x: number): number => {
    if (x < lo) return 0;
    if (x > hi) return B + 1;
    const t = (x - lo) * scale;
    return t < B ? (t | 0) + 1 : B;
  };
  // cum[b] = values in buckets < b
  const refCum = new Float64Array(NB + 1);
  const curCum = new Float64Array(NB + 1);
  for (let b = 0; b < NB; b++) {
    refCum[b + 1] = refCum[b]! + refHist[b]!;
    curCum[b + 1] = curCum[b]! + curHist[b]!;
  }
  const bucketOfRank = (rank: number): number => upperBound(refCum, rank, 1, NB + 1) - 1;
  const refNeed = new Uint8Array(NB);
  const curNeed = new Uint8Array(NB);

  // Buckets for the quantile edges.
  const wantBins = bins > 0 && nRef > 0;
  if (wantBins) {
    for (let i = 1; i < bins; i++) {
      const [p, nx] = quantileIndex(nRef, i / bins);
      const b0 = bucketOfRank(p);
      const b1 = bucketOfRank(nx);
      for (let b = b0; b <= b1; b++) {
        refNeed[b] = 1;
        curNeed[b] = 1;
      }
    }
  }

  // KS candidates.
  const doKs = wantKs && nRef > 0 && nCur > 0;
  const candidate = new Uint8Array(doKs ? NB : 0);
  let dlb = 0;
  if (doKs) {
    for (let b = 0; b < NB; b++) {
      if (refHist[b]! + curHist[b]! === 0) continue;
      const d = Math.abs(refCum[b + 1]! / nRef - curCum[b + 1]! / nCur);
      if (d > dlb) dlb = d;
    }
    for (let b = 0; b < NB; b++) {
      if (refHist[b]! === 0 || curHist[b]! === 0) continue; // one-sided buckets peak at a boundary
      const bound = Math.max(refCum[b + 1]! / nRef - curCum[b]! / nCur, curCum[b + 1]! / nCur - refCum[b]! / nRef);
      if (bound > dlb) {
        candidate[b] = 1;
        refNeed[b] = 1;
        curNeed[b] = 1;
      }
    }
  }

  const refSeg = new Map<number, Float64Array>();
  const curSeg = new Map<number, Float64Array>();
  gatherPass(ref, lo, hi, scale, B, refNeed, refHist, refSeg);
  gatherPass(cur, lo, hi, scale, B, curNeed, curHist, curSeg);

  // Segments are gathered unsorted; the edge computations sort the ones they read, once.
  const refSorted = new Set<number>();
  const curSorted = new Set<number>();
  const sortedSegment = (seg: Map<number, Float64Array>, done: Set<number>, b: number): Float64Array | undefined => {
    const s = seg.get(b);
    if (s && !done.has(b)) {
      sortIfNeeded(s);
      done.add(b);
    }
    return s;
  };

  let edges: number[] = [];
  let referenceCounts: number[] = [];
  let currentCounts: number[] = [];
  if (wantBins) {
    edges = edgesFromOrderStats(nRef, bins, (rank) => {
      const b = bucketOfRank(rank);
      return sortedSegment(refSeg, refSorted, b)![rank - refCum[b]!]!;
    });
    // An edge interpolated between two order statistics lies in one of the buckets flagged
    // above; make sure (floating point) and gather any bucket that is missing.
    const edgeBuckets = edges.map(bucketOf);
    const refExtra = new Uint8Array(NB);
    const curExtra = new Uint8Array(NB);
    let refMore = false;
    let curMore = false;
    for (const b of edgeBuckets) {
      if (refHist[b]! > 0 && !refSeg.has(b)) {
        refExtra[b] = 1;
        refMore = true;
      }
      if (curHist[b]! > 0 && !curSeg.has(b)) {
        curExtra[b] = 1;
        curMore = true;
      }
    }
    if (refMore) gatherPass(ref, lo, hi, scale, B, refExtra, refHist, refSeg);
    if (curMore) gatherPass(cur, lo, hi, scale, B, curExtra, curHist, curSeg);
    const le = (cum: Float64Array, seg: Map<number, Float64Array>, done: Set<number>, e: number, b: number): number => {
      const s = sortedSegment(seg, done, b);
      return cum[b]! + (s ? upperBound(s, e) : 0);
    };
    const refLe = edges.map((e, k) => le(refCum, refSeg, refSorted, e, edgeBuckets[k]!));
    const curLe = edges.map((e, k) => le(curCum, curSeg, curSorted, e, edgeBuckets[k]!));
    referenceCounts = diffCounts(refLe, nRef);
    currentCounts = diffCounts(curLe, nCur);
  }

  let ks: number | null = null;
  if (doKs) {
    // Start from the boundary maximum (a value D attains) and refine the candidates in order,
    // skipping those whose bound the refinements so far have already beaten.
    let d = dlb;
    for (let b = 0; b < NB; b++) {
      if (!candidate[b]) continue;
      const bound = Math.max(refCum[b + 1]! / nRef - curCum[b]! / nCur, curCum[b + 1]! / nCur - refCum[b]! / nRef);
      if (bound > d) d = ksRefine(refSeg.get(b)!, curSeg.get(b)!, refCum[b]!, curCum[b]!, nRef, nCur, d, 0);
    }
    ks = d;
  }
  return { nReference: nRef, nCurrent: nCur, edges, referenceCounts, currentCounts, ks };
}

function diffCounts(le: readonly number[], n: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const c of le) {
    out.push(c - prev);
    prev = c;
  }
  out.push(n - prev);
  return out;
}

/**
 * Range for the buckets: the 1% and 99% points of an evenly strided sample of both inputs. The
 * ~1% beyond each end lands in the two open buckets (refined like any other when needed); a
 * range spanning the far tails would leave the bulk of heavy-tailed data too few buckets.
 */
function sampleRange(ref: Float64Array, cur: Float64Array): { lo: number; hi: number } | null {
  const sample: number[] = [];
  for (const a of [ref, cur]) {
    const step = Math.max(1, Math.floor(a.length / 2048));
    for (let i = 0; i < a.length; i += step) {
      const x = a[i]!;
      if (x - x === 0) sample.push(x);
    }
  }
  if (sample.length === 0) return null;
  sample.sort((x, y) => x - y);
  const L = sample.length - 1;
  return { lo: sample[Math.floor(0.01 * L)]!, hi: sample[Math.ceil(0.99 * L)]! };
}

/** The bucket of `x`: 0 below `lo`, 1..B inside [lo, hi], B + 1 above `hi`; -1 for NaN and ±Infinity. */
function bucketOf(x: number, lo: number, hi: number, scale: number, B: number): number {
  if (x >= lo && x <= hi) {
    const t = (x - lo) * scale;
    return t < B ? (t | 0) + 1 : B;
  }
  if (x < lo && x !== -Infinity) return 0;
  if (x > hi && x !== Infinity) return B + 1;
  return -1;
}

function countPass(a: Float64Array, lo: number, hi: number, scale: number, B: number, hist: Int32Array): number {
  let skipped = 0;
  const len = a.length;
  for (let i = 0; i < len; i++) {
    const b = bucketOf(a[i]!, lo, hi, scale, B);
    if (b < 0) skipped++; // NaN, ±Infinity
    else hist[b]!++;
  }
  return len - skipped;
}

/** Copies the values of the flagged buckets into one sorted segment per bucket. */
function gatherPass(a: Float64Array, lo: number, hi: number, scale: number, B: number, need: Uint8Array, hist: Int32Array, into: Map<number, Float64Array>): void {
  const NB = B + 2;
  const start = new Int32Array(NB);
  let total = 0;
  for (let b = 0; b < NB; b++) {
    if (need[b] && hist[b]! > 0) {
      start[b] = total;
      total += hist[b]!;
    } else need[b] = 0;
  }
  if (total === 0) return;
  const values = new Float64Array(total);
  const pos = start.slice();
  let found = 0;
  const len = a.length;
  for (let i = 0; i < len && found < total; i++) {
    const x = a[i]!;
    const b = bucketOf(x, lo, hi, scale, B);
    if (b >= 0 && need[b]) {
      values[pos[b]!++] = x;
      found++;
    }
  }
  for (let b = 0; b < NB; b++) {
    if (need[b]) into.set(b, values.subarray(start[b], start[b]! + hist[b]!));
  }
}

/** Sorts in place unless all values are equal (dense buckets of discrete data often are). */
function sortIfNeeded(s: Float64Array): void {
  const first = s[0];
  let i = 1;
  while (i < s.length && s[i] === first) i++;
  if (i < s.length) s.sort();
}

const KS_SORT_MAX = 4096;
const KS_SUB_BUCKETS = 1024;

/**
 * The largest |F_ref(x) − F_cur(x)| over the data points x inside one bucket, given both samples'
 * values in it (any order) and the counts below it (R0, C0); `best` is the largest difference
 * known so far. Small buckets are sorted and merged. Larger ones are split again into equal-width
 * sub-buckets over their exact min/max, with the same boundary bound deciding which sub-buckets
 * to refine, so a dense bucket (a spike, a heavy tail's bulk) is never sorted whole; a bucket
 * holding a single distinct value is one point.
 */
function ksRefine(r: Float64Array, c: Float64Array, R0: number, C0: number, nRef: number, nCur: number, best: number, depth: number): number {
  const rn = r.length;
  const cn = c.length;
  const end = Math.abs((R0 + rn) / nRef - (C0 + cn) / nCur);
  if (rn === 0 || cn === 0) return Math.max(best, end);
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of [r, c]) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (lo === hi) return Math.max(best, end);
  const scale = KS_SUB_BUCKETS / (hi - lo);
  if (rn + cn <= KS_SORT_MAX || depth >= 8 || !(scale < Infinity)) {
    sortIfNeeded(r);
    sortIfNeeded(c);
    let i = 0;
    let j = 0;
    while (i < rn || j < cn) {
      const v = i < rn && (j >= cn || r[i]! <= c[j]!) ? r[i]! : c[j]!;
      while (i < rn && r[i]! <= v) i++;
      while (j < cn && c[j]! <= v) j++;
      const diff = Math.abs((R0 + i) / nRef - (C0 + j) / nCur);
      if (diff > best) best = diff;
    }
    return best;
  }
  const B = KS_SUB_BUCKETS;
  const NB = B + 2;
  const rh = new Int32Array(NB);
  const ch = new Int32Array(NB);
  countPass(r, lo, hi, scale, B, rh);
  countPass(c, lo, hi, scale, B, ch);
  const rc = new Float64Array(NB + 1);
  const cc = new Float64Array(NB + 1);
  for (let b = 0; b < NB; b++) {
    rc[b + 1] = rc[b]! + rh[b]!;
    cc[b + 1] = cc[b]! + ch[b]!;
    if (rh[b]! + ch[b]! > 0) {
      const diff = Math.abs((R0 + rc[b + 1]!) / nRef - (C0 + cc[b + 1]!) / nCur);
      if (diff > best) best = diff;
    }
  }
  const bound = (b: number): number => Math.max((R0 + rc[b + 1]!) / nRef - (C0 + cc[b]!) / nCur, (C0 + cc[b + 1]!) / nCur - (R0 + rc[b]!) / nRef);
  const need = new Uint8Array(NB);
  let any = false;
  for (let b = 0; b < NB; b++) {
    if (rh[b]! > 0 && ch[b]! > 0 && bound(b) > best) {
      need[b] = 1;
      any = true;
    }
  }
  if (!any) return best;
  const rSeg = new Map<number, Float64Array>();
  const cSeg = new Map<number, Float64Array>();
  gatherPass(r, lo, hi, scale, B, need.slice(), rh, rSeg);
  gatherPass(c, lo, hi, scale, B, need, ch, cSeg);
  for (let b = 0; b < NB; b++) {
    if (need[b] && bound(b) > best) best = ksRefine(rSeg.get(b)!, cSeg.get(b)!, R0 + rc[b]!, C0 + cc[b]!, nRef, nCur, best, depth + 1);
  }
  return best;
}
