/**
 * Histogram gradient boosting, as scikit-learn's HistGradientBoosting* and LightGBM do it.
 *
 * - Binning: per feature at most `maxBins` (≤ 255) quantile bins fitted on the training rows (a
 *   seeded sample of 200,000 when there are more); bins are uint8, column-major; bin 255 holds
 *   missing values (NaN).
 * - Trees grow leaf-wise (best-first) up to `maxLeafNodes` leaves (and `maxDepth` when set), each
 *   leaf with at least `minSamplesLeaf` rows; split gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ),
 *   leaf value −learningRate·G/(H+λ). Missing values go to the side that gains most (scanned both
 *   ways); a feature without missing values in a node sends them to the larger child.
 * - Histograms of a node's smaller child are built by a pass over its rows, the larger child's by
 *   subtracting from the parent's; rows are partitioned in place in one Uint32Array. These loops
 *   and the binning run in a WebAssembly kernel (kernels/gb-kernel.ts, AssemblyScript), about
 *   twice as fast as the JavaScript loops below, which stay as the fallback for matrices beyond
 *   wasm32's 4 GiB (and `MLCYCLE_GB_KERNEL=js`) and give the same trees bit for bit.
 * - Losses: log loss (binary), softmax log loss with one tree per class per round (multiclass),
 *   squared error (regression). Sample weights scale gradients and hessians (class weights).
 * - `subsample` draws the rows of each round, `maxFeatures` the features each split may use.
 * - Early stopping on the validation rows' loss as scikit-learn: stop when none of the last
 *   `nIterNoChange` rounds beats the loss of the round before them by more than `tol`; `auto`
 *   turns it on above 10,000 training rows.
 * - The per-round training loss (the history's `loss`) is measured on 10,000 evenly spaced
 *   training rows when there are more, as scikit-learn scores training on a 10,000-row subset.
 *
 * One step of the trainer is one boosting round. The state holds the bin edges, the trees and the
 * generator's 32-bit state; training scores are a cache keyed by the data arrays and rebuilt from
 * the trees (in the same order, so to the same bits) after a resume.
 */
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { FeatureMatrix, TaskType } from './feature-matrix';
import { softmaxRows } from './linear-model';
import { createArena, gbKernelSetting, HIST_SLOTS, type GbArena } from './kernels/gb-kernel';
import { auc } from './metrics';
import {
  classCount,
  nextRandom,
  outputWidth,
  predictionLoss,
  seedState,
  type EngineStateBase,
  type ModelTrainer,
  type RawParams,
} from './trainer-contract';

export const HistGradientBoostingParamsSchema = z
  .object({
    /** Boosting rounds at most (scikit-learn's max_iter). */
    epochs: z.number().int('must be an integer').min(1, 'must be >= 1').max(100_000, 'must be <= 100000').default(100),
    learningRate: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').default(0.1),
    maxLeafNodes: z.number().int('must be an integer').min(2, 'must be >= 2').max(4096, 'must be <= 4096').default(31),
    /** Deepest a leaf may be (root = 0); none by default. */
    maxDepth: z.number().int('must be an integer').min(1, 'must be >= 1').max(64, 'must be <= 64').optional(),
    minSamplesLeaf: z.number().int('must be an integer').min(1, 'must be >= 1').default(20),
    /** L2 regularization of leaf values (λ). */
    l2: z.number().min(0, 'must be >= 0').default(0),
    maxBins: z.number().int('must be an integer').min(2, 'must be >= 2').max(255, 'must be <= 255').default(255),
    /** Fraction of rows drawn (anew each round) to grow that round's trees. */
    subsample: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').default(1),
    /** Fraction of features each split may choose from (drawn anew per split). */
    maxFeatures: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').default(1),
    earlyStopping: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    nIterNoChange: z.number().int('must be an integer').min(1, 'must be >= 1').default(10),
    tol: z.number().min(0, 'must be >= 0').default(1e-7),
  })
  .strict();

export interface HistGradientBoostingParams {
  epochs: number;
  learningRate: number;
  maxLeafNodes: number;
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2: number;
  maxBins: number;
  subsample: number;
  maxFeatures: number;
  earlyStopping: boolean;
  nIterNoChange: number;
  tol: number;
}

/**
 * A tree as flat arrays indexed by node (root = 0). `feature[i] === -1` marks a leaf worth
 * `value[i]` (already scaled by the learning rate); otherwise a row goes left when its value is
 * ≤ threshold[i] (bin ≤ bin[i]), or when it is missing and missingLeft[i] is 1.
 */
export interface BoostedTree {
  feature: number[];
  threshold: number[];
  bin: number[];
  missingLeft: number[];
  left: number[];
  right: number[];
  value: number[];
  gain: number[];
}

export interface HistGradientBoostingState extends EngineStateBase<'gradient-boosting', HistGradientBoostingParams> {
  width: number;
  rng: number;
  model: {
    baseline: number[];
    /** Per feature, the ascending upper edges of its non-missing bins but the last. */
    edges: number[][];
    /** Round-major: trees[round * width + output]. */
    trees: BoostedTree[];
  };
}

export const MISSING_BIN = 255;
const BIN_SAMPLE = 200_000;
const MIN_HESSIAN = 1e-3;
const SLOTS = HIST_SLOTS;

function parse(raw: RawParams): z.infer<typeof HistGradientBoostingParamsSchema> {
  const result = HistGradientBoostingParamsSchema.safeParse(raw);
  if (!result.success) {
    throw new MlcycleError('SPEC_INVALID', `invalid params for trainer gradient-boosting:\n${formatIssues(result.error, 'train.params')}`);
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Binning

function fitEdges(col: Float64Array, maxBins: number, sample: Uint32Array | undefined): number[] {
  // Typed arrays throughout: the sort is numeric and in place, with no boxed values.
  const m = sample ? sample.length : col.length;
  const sorted = new Float64Array(m);
  let k = 0;
  for (let j = 0; j < m; j++) {
    const v = col[sample ? (sample[j] as number) : j] as number;
    if (v === v) sorted[k++] = v;
  }
  if (k === 0) return [];
  const values = sorted.subarray(0, k).sort();
  let nDistinct = 0;
  const distinct = new Float64Array(k);
  for (let i = 0; i < k; i++) if (i === 0 || values[i] !== values[i - 1]) distinct[nDistinct++] = values[i] as number;
  if (nDistinct <= maxBins) {
    const edges: number[] = [];
    for (let i = 0; i + 1 < nDistinct; i++) edges.push(((distinct[i] as number) + (distinct[i + 1] as number)) / 2);
    return edges;
  }
  // Quantiles at 1/maxBins … (maxBins−1)/maxBins, midpoint between neighbours, duplicates dropped.
  const edges: number[] = [];
  for (let b = 1; b < maxBins; b++) {
    const pos = (b / maxBins) * (k - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const e = ((values[lo] as number) + (values[hi] as number)) / 2;
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  return edges;
}

function binIndex(edges: Float64Array, v: number): number {
  if (v !== v) return MISSING_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The matrix's bins for these edges (column-major, bins[f * n + i]), kept in its workspace. */
function binned(ws: Workspace, X: FeatureMatrix, edges: number[][]): Uint8Array {
  if (ws.binEdges && (ws.binEdges === edges || JSON.stringify(ws.binEdges) === JSON.stringify(edges))) {
    ws.binEdges = edges;
    return ws.bins;
  }
  const n = X.rows;
  X.columns.forEach((col, f) => {
    const e = Float64Array.from(edges[f] as number[]);
    if (ws.kernel) {
      ws.kernel.binColumn(f, col, e);
      return;
    }
    const out = ws.bins.subarray(f * n, (f + 1) * n);
    for (let i = 0; i < n; i++) out[i] = binIndex(e, col[i] as number);
  });
  ws.binEdges = edges;
  return ws.bins;
}

// ---------------------------------------------------------------------------------------------
// Scores (raw, before the link function), cached per data set and rebuilt from the trees

interface ScoreCache {
  baseline: number[];
  trees: BoostedTree[];
  scores: Float64Array;
}
const scoreCaches = new WeakMap<FeatureMatrix, ScoreCache>();

function treeValue(tree: BoostedTree, X: FeatureMatrix, i: number): number {
  let node = 0;
  while ((tree.feature[node] as number) >= 0) {
    const v = (X.columns[tree.feature[node] as number] as Float64Array)[i] as number;
    const goLeft = v !== v ? tree.missingLeft[node] === 1 : v <= (tree.threshold[node] as number);
    node = (goLeft ? tree.left[node] : tree.right[node]) as number;
  }
  return tree.value[node] as number;
}

/** Raw scores (n×width row-major) of the model on X, adding only trees the cache has not seen. */
function rawScores(X: FeatureMatrix, model: HistGradientBoostingState['model'], width: number): Float64Array {
  return scoreCache(X, model, width).scores;
}

function scoreCache(X: FeatureMatrix, model: HistGradientBoostingState['model'], width: number): ScoreCache {
  let cache = scoreCaches.get(X);
  const valid =
    cache !== undefined &&
    cache.baseline === model.baseline &&
    cache.trees.length <= model.trees.length &&
    cache.trees.every((t, i) => t === model.trees[i]);
  if (!valid || cache === undefined) {
    const scores = new Float64Array(X.rows * width);
    for (let i = 0; i < X.rows; i++) for (let c = 0; c < width; c++) scores[i * width + c] = model.baseline[c] as number;
    cache = { baseline: model.baseline, trees: [], scores };
    scoreCaches.set(X, cache);
  }
  const { scores } = cache;
  for (let t = cache.trees.length; t < model.trees.length; t++) {
    const tree = model.trees[t] as BoostedTree;
    const c = t % width;
    for (let i = 0; i < X.rows; i++) scores[i * width + c] = (scores[i * width + c] as number) + treeValue(tree, X, i);
  }
  cache.trees = model.trees;
  return cache;
}

function link(task: TaskType, raw: Float64Array, width: number): Float64Array {
  const out = Float64Array.from(raw);
  if (task === 'binary') {
    for (let i = 0; i < out.length; i++) {
      const t = out[i] as number;
      const e = Math.exp(-Math.abs(t));
      out[i] = t >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
  } else if (task === 'multiclass') softmaxRows(out, width);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tree growing

interface Workspace {
  g: Float64Array;
  h: Float64Array;
  rows: Uint32Array;
  tmp: Uint32Array;
  /** A node's gradients and hessians in its row order (the JavaScript buildHist). */
  og: Float64Array;
  oh: Float64Array;
  pool: Float64Array[];
  bins: Uint8Array;
  /** The edges `bins` was computed with (none yet: undefined). */
  binEdges?: number[][];
  /** The WebAssembly kernel's arena, which holds g, h, rows, tmp and bins; none: JavaScript loops. */
  kernel?: GbArena;
}
const workspaces = new WeakMap<FeatureMatrix, Workspace>();

function workspace(X: FeatureMatrix, width: number): Workspace {
  let ws = workspaces.get(X);
  const n = X.rows;
  const d = X.columns.length;
  if (!ws || ws.g.length !== n * width || ws.bins.length !== n * d) {
    const kernel = gbKernelSetting() === 'wasm' ? createArena(n, d, width) : undefined;
    ws = kernel
      ? { g: kernel.g, h: kernel.h, rows: kernel.rows, tmp: kernel.tmp, og: new Float64Array(0), oh: new Float64Array(0), pool: [], bins: kernel.bins, kernel }
      : { g: new Float64Array(n * width), h: new Float64Array(n * width), rows: new Uint32Array(n), tmp: new Uint32Array(n), og: new Float64Array(n), oh: new Float64Array(n), pool: [], bins: new Uint8Array(n * d) };
    workspaces.set(X, ws);
  }
  return ws;
}

interface GrowContext {
  bins: Uint8Array;
  n: number;
  d: number;
  nBins: Int32Array;
  edges: number[][];
  /** Gradients/hessians of this tree's output, indexed by row. */
  g: Float64Array;
  /** The output this tree is for (its gradients' place in the kernel's arena). */
  output: number;
  h: Float64Array;
  /** Hessians all 1 (unweighted squared error): count stands in for H. */
  constHess: boolean;
  params: HistGradientBoostingParams;
  rng: { rng: number };
  ws: Workspace;
  /** All rows in order (no subsampling): the root histogram needs no index. */
  allRows: boolean;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  nLeft: number;
  /** Gradient and hessian sums of the rows going left (missing values included when they go left). */
  gLeft: number;
  hLeft: number;
}

interface OpenNode {
  node: number;
  start: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  hist: Float64Array;
  split: Split | undefined;
}

function takeHist(ctx: GrowContext): Float64Array {
  const h = ctx.ws.pool.pop();
  if (h && h.length === ctx.d * SLOTS * 3) {
    h.fill(0);
    return h;
  }
  return new Float64Array(ctx.d * SLOTS * 3);
}

/** Adds one row's gradient, hessian and count to the histogram slot at `s`. */
function accumulate(hist: Float64Array, s: number, g: number, h: number): void {
  hist[s] = (hist[s] as number) + g;
  hist[s + 1] = (hist[s + 1] as number) + h;
  hist[s + 2] = (hist[s + 2] as number) + 1;
}

function buildHist(ctx: GrowContext, start: number, end: number, hist: Float64Array): void {
  const { bins, n, d, constHess } = ctx;
  const rows = ctx.ws.rows;
  const m = end - start;
  const kernel = ctx.ws.kernel;
  if (kernel) {
    hist.set(kernel.buildHist(start, m, ctx.output, ctx.allRows && start === 0 && end === n, constHess));
    return;
  }
  // A tree's root over all rows reads the gradients and bins in place (its rows are 0..n-1 in
  // order, so the row index is not read at all: 4–5% of a fit). Any
  // other node's are gathered once into its row order ("ordered gradients"), so that each
  // feature's pass reads them sequentially instead of gathering them again.
  let og = ctx.g;
  let oh = ctx.h;
  const inOrder = ctx.allRows && start === 0 && end === n;
  if (!inOrder) {
    og = ctx.ws.og;
    oh = ctx.ws.oh;
    for (let k = 0; k < m; k++) og[k] = ctx.g[rows[start + k] as number] as number;
    if (!constHess) for (let k = 0; k < m; k++) oh[k] = ctx.h[rows[start + k] as number] as number;
  }
  const stride = SLOTS * 3;
  let f = 0;
  // Four features per pass over the node's rows: the row index and its gradients are read once
  // for all four, and the four histogram updates are independent of each other.
  for (; f + 4 <= d; f += 4) {
    const ca = bins.subarray(f * n, (f + 1) * n);
    const cb = bins.subarray((f + 1) * n, (f + 2) * n);
    const cc = bins.subarray((f + 2) * n, (f + 3) * n);
    const cd = bins.subarray((f + 3) * n, (f + 4) * n);
    const ba = f * stride;
    for (let k = 0; k < m; k++) {
      const r = inOrder ? k : (rows[start + k] as number);
      const gk = og[k] as number;
      const hk = constHess ? 1 : (oh[k] as number);
      const sa = ba + (ca[r] as number) * 3;
      const sb = ba + stride + (cb[r] as number) * 3;
      const sc = ba + 2 * stride + (cc[r] as number) * 3;
      const sd = ba + 3 * stride + (cd[r] as number) * 3;
      accumulate(hist, sa, gk, hk);
      accumulate(hist, sb, gk, hk);
      accumulate(hist, sc, gk, hk);
      accumulate(hist, sd, gk, hk);
    }
  }
  for (; f < d; f++) {
    const col = bins.subarray(f * n, (f + 1) * n);
    const base = f * stride;
    for (let k = 0; k < m; k++) {
      accumulate(hist, base + (col[rows[start + k] as number] as number) * 3, og[k] as number, constHess ? 1 : (oh[k] as number));
    }
  }
}

function findSplit(ctx: GrowContext, open: OpenNode): Split | undefined {
  const { params, d, nBins } = ctx;
  const { hist, G, H } = open;
  const count = open.end - open.start;
  const minLeaf = params.minSamplesLeaf;
  if (count < 2 * minLeaf) return undefined;
  if (params.maxDepth !== null && open.depth >= params.maxDepth) return undefined;
  const lambda = params.l2;
  const parent = (G * G) / (H + lambda);
  let best: Split | undefined;
  let bestGain = 0;
  const useAll = params.maxFeatures >= 1;
  for (let f = 0; f < d; f++) {
    if (!useAll && nextRandom(ctx.rng) >= params.maxFeatures) continue;
    const base = f * SLOTS * 3;
    const nb = nBins[f] as number;
    const mBase = base + MISSING_BIN * 3;
    const gm = hist[mBase] as number;
    const hm = hist[mBase + 1] as number;
    const cm = hist[mBase + 2] as number;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    // b = nb − 1 is only a split when there are missing values (all non-missing left).
    const last = cm > 0 ? nb - 1 : nb - 2;
    for (let b = 0; b <= last; b++) {
      const s = base + b * 3;
      gl += hist[s] as number;
      hl += hist[s + 1] as number;
      cl += hist[s + 2] as number;
      // Missing values right.
      {
        const cr = count - cl;
        if (cl >= minLeaf && cr >= minLeaf) {
          const gr = G - gl;
          const hr = H - hl;
          if (hl >= MIN_HESSIAN && hr >= MIN_HESSIAN) {
            const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              // Without missing values in the node, they go (at prediction) to the larger child.
              best = { gain, feature: f, bin: b, missingLeft: cm > 0 ? false : cl >= cr, nLeft: cl, gLeft: gl, hLeft: hl };
            }
          }
        }
      }
      // Missing values left.
      if (cm > 0 && b < nb - 1) {
        const cl2 = cl + cm;
        const cr = count - cl2;
        if (cl2 >= minLeaf && cr >= minLeaf) {
          const gl2 = gl + gm;
          const hl2 = hl + hm;
          const gr = G - gl2;
          const hr = H - hl2;
          if (hl2 >= MIN_HESSIAN && hr >= MIN_HESSIAN) {
            const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b, missingLeft: true, nLeft: cl2, gLeft: gl2, hLeft: hl2 };
            }
          }
        }
      }
    }
  }
  return best;
}

/** Stable in-place partition of rows[start:end): rows going left first. Returns the split point. */
function partition(ctx: GrowContext, open: OpenNode, split: Split): number {
  if (ctx.ws.kernel) return ctx.ws.kernel.partition(split.feature, open.start, open.end, split.bin, split.missingLeft);
  const { bins, n } = ctx;
  const { rows, tmp } = ctx.ws;
  const col = bins.subarray(split.feature * n, (split.feature + 1) * n);
  const thr = split.bin;
  const missLeft = split.missingLeft;
  let l = open.start;
  let r = 0;
  const missing = missLeft ? 1 : 0;
  for (let k = open.start; k < open.end; k++) {
    const row = rows[k] as number;
    const b = col[row] as number;
    // Branchless: both slots are written, one cursor moves (left/right is unpredictable).
    const left = b === MISSING_BIN ? missing : b <= thr ? 1 : 0;
    rows[l] = row;
    tmp[r] = row;
    l += left;
    r += 1 - left;
  }
  rows.set(tmp.subarray(0, r), l);
  return l;
}

function addNode(tree: BoostedTree): number {
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.bin.push(0);
  tree.missingLeft.push(0);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  tree.gain.push(0);
  return tree.feature.length - 1;
}

function sums(ctx: GrowContext, hist: Float64Array): { G: number; H: number } {
  // Totals from feature 0's histogram (every row lands in exactly one of its bins).
  let G = 0;
  let H = 0;
  for (let b = 0; b < SLOTS; b++) {
    G += hist[b * 3] as number;
    H += hist[b * 3 + 1] as number;
  }
  return { G, H };
}

/** Grows one tree leaf-wise over rows[0:m). */
function growTree(ctx: GrowContext, m: number, leafRanges: number[]): BoostedTree {
  const { params } = ctx;
  const tree: BoostedTree = { feature: [], threshold: [], bin: [], missingLeft: [], left: [], right: [], value: [], gain: [] };
  const lambda = params.l2;
  const leafValue = (G: number, H: number) => (-params.learningRate * G) / (H + lambda);
  const rootHist = takeHist(ctx);
  buildHist(ctx, 0, m, rootHist);
  const { G, H } = sums(ctx, rootHist);
  const root: OpenNode = { node: addNode(tree), start: 0, end: m, depth: 0, G, H, hist: rootHist, split: undefined };
  root.split = findSplit(ctx, root);
  const open: OpenNode[] = [root];
  let leaves = 1;
  const leaf = (node: number, start: number, end: number, G: number, H: number) => {
    tree.value[node] = leafValue(G, H);
    leafRanges.push(start, end, node);
  };
  const close = (o: OpenNode) => {
    leaf(o.node, o.start, o.end, o.G, o.H);
    ctx.ws.pool.push(o.hist);
  };
  // What findSplit would refuse anyway, known before any histogram is built.
  const mayGrow = (count: number, depth: number) =>
    leaves < params.maxLeafNodes && count >= 2 * params.minSamplesLeaf && (params.maxDepth === null || depth < params.maxDepth);
  while (open.length > 0) {
    let bi = -1;
    for (let i = 0; i < open.length; i++) {
      const s = (open[i] as OpenNode).split;
      if (s && (bi < 0 || s.gain > ((open[bi] as OpenNode).split as Split).gain)) bi = i;
    }
    if (bi < 0 || leaves >= params.maxLeafNodes) break;
    const o = open.splice(bi, 1)[0] as OpenNode;
    const split = o.split as Split;
    const mid = partition(ctx, o, split);
    tree.feature[o.node] = split.feature;
    tree.bin[o.node] = split.bin;
    const edges = ctx.edges[split.feature] as number[];
    tree.threshold[o.node] = split.bin < edges.length ? (edges[split.bin] as number) : Number.MAX_VALUE;
    tree.missingLeft[o.node] = split.missingLeft ? 1 : 0;
    tree.gain[o.node] = split.gain;
    tree.value[o.node] = leafValue(o.G, o.H);
    const leftNode = addNode(tree);
    const rightNode = addNode(tree);
    tree.left[o.node] = leftNode;
    tree.right[o.node] = rightNode;
    leaves++;
    const nl = mid - o.start;
    const nr = o.end - mid;
    if (!mayGrow(nl, o.depth + 1) && !mayGrow(nr, o.depth + 1)) {
      // Both children stay leaves (the last split of a tree, or children too small or too deep):
      // their sums come from the split itself, so neither histogram is built (as scikit-learn).
      leaf(leftNode, o.start, mid, split.gLeft, split.hLeft);
      leaf(rightNode, mid, o.end, o.G - split.gLeft, o.H - split.hLeft);
      ctx.ws.pool.push(o.hist);
      continue;
    }
    // Smaller child by a pass over its rows, the larger one by subtraction in the parent's buffer.
    const small = takeHist(ctx);
    const large = o.hist;
    if (nl <= nr) buildHist(ctx, o.start, mid, small);
    else buildHist(ctx, mid, o.end, small);
    for (let s = 0; s < large.length; s++) large[s] = (large[s] as number) - (small[s] as number);
    const leftHist = nl <= nr ? small : large;
    const rightHist = nl <= nr ? large : small;
    const ls = sums(ctx, leftHist);
    const rs = sums(ctx, rightHist);
    const children: OpenNode[] = [
      { node: leftNode, start: o.start, end: mid, depth: o.depth + 1, G: ls.G, H: ls.H, hist: leftHist, split: undefined },
      { node: rightNode, start: mid, end: o.end, depth: o.depth + 1, G: rs.G, H: rs.H, hist: rightHist, split: undefined },
    ];
    for (const c of children) {
      c.split = leaves < params.maxLeafNodes ? findSplit(ctx, c) : undefined;
      if (c.split) open.push(c);
      else close(c);
    }
  }
  for (const o of open) close(o);
  return tree;
}

// ---------------------------------------------------------------------------------------------
// The trainer

function baselineOf(task: TaskType, y: Float64Array, w: Float64Array | undefined, width: number): number[] {
  let wsum = 0;
  if (task === 'regression') {
    let s = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = w ? (w[i] as number) : 1;
      s += wi * (y[i] as number);
      wsum += wi;
    }
    return [s / wsum];
  }
  const counts = new Float64Array(task === 'binary' ? 2 : width);
  for (let i = 0; i < y.length; i++) {
    const wi = w ? (w[i] as number) : 1;
    counts[y[i] as number] = (counts[y[i] as number] as number) + wi;
    wsum += wi;
  }
  if (task === 'binary') {
    const p = Math.min(Math.max((counts[1] as number) / wsum, 1e-15), 1 - 1e-15);
    return [Math.log(p / (1 - p))];
  }
  return Array.from(counts, (c) => Math.log(Math.max(c / wsum, 1e-15)));
}

/** The loss straight from raw scores (no probability arrays). */
/** Rows the per-round training loss is measured on at most (scikit-learn scores training on 10,000 too). */
export const TRAIN_LOSS_ROWS = 10_000;

/**
 * The mean training loss of the raw scores. Above TRAIN_LOSS_ROWS rows it is measured on
 * TRAIN_LOSS_ROWS rows evenly spaced through the training rows (fixed, so every round and a resumed
 * run use the same ones): the curve is a report, and the full pass cost 8% of a 1M-row fit.
 */
function rawLoss(task: TaskType, y: Float64Array, raw: Float64Array, width: number, w: Float64Array | undefined): number {
  let sum = 0;
  let wsum = 0;
  const n = y.length;
  const m = Math.min(n, TRAIN_LOSS_ROWS);
  for (let k = 0; k < m; k++) {
    const i = m === n ? k : Math.floor((k * n) / m);
    const wi = w ? (w[i] as number) : 1;
    let l: number;
    if (task === 'regression') {
      const r = (raw[i] as number) - (y[i] as number);
      l = r * r;
    } else if (task === 'binary') {
      const t = raw[i] as number;
      // log(1 + e^t) − y·t, clipped like the probability-based log loss would be
      l = Math.min((t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))) - (y[i] as number) * t, 34.538776394910684);
    } else {
      const o = i * width;
      let max = -Infinity;
      for (let c = 0; c < width; c++) if ((raw[o + c] as number) > max) max = raw[o + c] as number;
      let s = 0;
      for (let c = 0; c < width; c++) s += Math.exp((raw[o + c] as number) - max);
      l = Math.min(Math.log(s) + max - (raw[o + (y[i] as number)] as number), 34.538776394910684);
    }
    sum += wi * l;
    wsum += wi;
  }
  return sum / wsum;
}

/** scikit-learn's rule: no recent round beat the reference loss by more than tol. */
function shouldStop(valLosses: number[], params: HistGradientBoostingParams): boolean {
  const n = params.nIterNoChange;
  // The baseline (round 0) counts as the first score, as in scikit-learn.
  if (valLosses.length <= n) return false;
  const reference = -(valLosses[valLosses.length - 1 - n] as number) + params.tol;
  for (let i = valLosses.length - n; i < valLosses.length; i++) if (-(valLosses[i] as number) > reference) return false;
  return true;
}

export const histGradientBoosting: ModelTrainer<'gradient-boosting', HistGradientBoostingParams, HistGradientBoostingState> = {
  name: 'gradient-boosting',

  parseParams(raw, info) {
    const p = parse(raw);
    return {
      epochs: p.epochs,
      learningRate: p.learningRate,
      maxLeafNodes: p.maxLeafNodes,
      maxDepth: p.maxDepth ?? null,
      minSamplesLeaf: p.minSamplesLeaf,
      l2: p.l2,
      maxBins: p.maxBins,
      subsample: p.subsample,
      maxFeatures: p.maxFeatures,
      earlyStopping: p.earlyStopping === 'auto' ? info.rows > 10_000 : p.earlyStopping,
      nIterNoChange: p.nIterNoChange,
      tol: p.tol,
    };
  },

  init(data, params, seed) {
    const { X, y } = data.train;
    const numClasses = classCount(y);
    const width = outputWidth(y.task, numClasses);
    const rng = { rng: seedState(seed) };
    let sample: Uint32Array | undefined;
    if (X.rows > BIN_SAMPLE) {
      // A seeded sample without replacement (partial Fisher–Yates), sorted for locality.
      const idx = new Uint32Array(X.rows);
      for (let i = 0; i < X.rows; i++) idx[i] = i;
      for (let i = 0; i < BIN_SAMPLE; i++) {
        const j = i + Math.floor(nextRandom(rng) * (X.rows - i));
        const t = idx[i] as number;
        idx[i] = idx[j] as number;
        idx[j] = t;
      }
      sample = idx.slice(0, BIN_SAMPLE).sort();
    }
    const edges = X.columns.map((col) => fitEdges(col, params.maxBins, sample));
    const effective = { ...params, earlyStopping: params.earlyStopping && data.validation !== undefined };
    const state: HistGradientBoostingState = {
      trainer: 'gradient-boosting',
      task: y.task,
      params: effective,
      seed,
      epoch: 0,
      totalEpochs: params.epochs,
      done: false,
      numFeatures: X.columns.length,
      ...(y.classes ? { classes: [...y.classes] } : {}),
      width,
      rng: rng.rng,
      history: [],
      model: { baseline: baselineOf(y.task, y.values, data.sampleWeight, width), edges, trees: [] },
    };
    return state;
  },

  step(state, data) {
    if (state.done) return state;
    const { X, y } = data.train;
    const { params, model, width, task } = state;
    const n = X.rows;
    const d = state.numFeatures;
    const ws = workspace(X, width);
    const bins = binned(ws, X, model.edges);
    const cache = scoreCache(X, model, width);
    const raw = cache.scores;
    const { g, h } = ws;
    const w = data.sampleWeight;
    const yv = y.values;

    // Gradients and hessians for every output, class-major: g[c * n + i].
    if (task === 'regression') {
      for (let i = 0; i < n; i++) {
        const wi = w ? (w[i] as number) : 1;
        g[i] = wi * ((raw[i] as number) - (yv[i] as number));
        h[i] = wi;
      }
    } else if (task === 'binary') {
      for (let i = 0; i < n; i++) {
        const t = raw[i] as number;
        const e = Math.exp(-Math.abs(t));
        const p = t >= 0 ? 1 / (1 + e) : e / (1 + e);
        const wi = w ? (w[i] as number) : 1;
        g[i] = wi * (p - (yv[i] as number));
        h[i] = wi * Math.max(p * (1 - p), 1e-16);
      }
    } else {
      const prob = new Float64Array(width);
      for (let i = 0; i < n; i++) {
        const o = i * width;
        let max = -Infinity;
        for (let c = 0; c < width; c++) if ((raw[o + c] as number) > max) max = raw[o + c] as number;
        let sum = 0;
        for (let c = 0; c < width; c++) {
          const e = Math.exp((raw[o + c] as number) - max);
          prob[c] = e;
          sum += e;
        }
        const wi = w ? (w[i] as number) : 1;
        const yi = yv[i] as number;
        for (let c = 0; c < width; c++) {
          const p = (prob[c] as number) / sum;
          g[c * n + i] = wi * (p - (c === yi ? 1 : 0));
          h[c * n + i] = wi * Math.max(p * (1 - p), 1e-16);
        }
      }
    }

    const rngBox = { rng: state.rng };
    const newTrees: BoostedTree[] = [];
    const nBins = Int32Array.from(model.edges, (e) => e.length + 1);
    // Rows of this round: drawn once, shared by the round's trees (one per output).
    let roundRows: Uint32Array | undefined;
    if (params.subsample < 1) {
      let m = 0;
      for (let i = 0; i < n; i++) if (nextRandom(rngBox) < params.subsample) ws.tmp[m++] = i;
      roundRows = m > 0 ? ws.tmp.slice(0, m) : undefined;
    }
    for (let c = 0; c < width; c++) {
      // Growing a tree partitions the row index in place: start every tree from ascending order.
      if (roundRows) ws.rows.set(roundRows);
      else for (let i = 0; i < n; i++) ws.rows[i] = i;
      const ctx: GrowContext = {
        bins,
        n,
        d,
        nBins,
        edges: model.edges,
        g: g.subarray(c * n, (c + 1) * n),
        output: c,
        h: h.subarray(c * n, (c + 1) * n),
        constHess: task === 'regression' && !w,
        params,
        rng: rngBox,
        ws,
        allRows: roundRows === undefined,
      };
      const leafRanges: number[] = [];
      const tree = growTree(ctx, roundRows ? roundRows.length : n, leafRanges);
      newTrees.push(tree);
      if (!roundRows) {
        // Every row sits in exactly one leaf's range of the partitioned index: add its value there
        // (the same value a traversal finds, so the scores match a rebuild bit for bit).
        for (let l = 0; l < leafRanges.length; l += 3) {
          const v = tree.value[leafRanges[l + 2] as number] as number;
          for (let k2 = leafRanges[l] as number, end = leafRanges[l + 1] as number; k2 < end; k2++) {
            const o = (ws.rows[k2] as number) * width + c;
            raw[o] = (raw[o] as number) + v;
          }
        }
      }
    }
    const nextModel = { ...model, trees: [...model.trees, ...newTrees] };
    if (!roundRows) cache.trees = nextModel.trees;
    const loss = rawLoss(task, yv, scoreCache(X, nextModel, width).scores, width, w);
    const epoch = state.epoch + 1;
    const entry: HistGradientBoostingState['history'][number] = { epoch, loss };
    let done = epoch >= state.totalEpochs;
    let stopReason: string | undefined = done ? 'max-iterations' : undefined;
    if (data.validation) {
      const vx = data.validation.X;
      const vy = data.validation.y.values;
      const vp = link(task, rawScores(vx, nextModel, width), width);
      entry.valLoss = predictionLoss(task, vy, vp, width);
      if (task === 'binary') {
        const a = auc(vy, vp);
        if (!Number.isNaN(a)) entry.valAuc = a;
      }
      if (params.earlyStopping) {
        const base = new Float64Array(vx.rows * width);
        for (let i = 0; i < base.length; i++) base[i] = model.baseline[i % width] as number;
        const baseLoss = predictionLoss(task, vy, link(task, base, width), width);
        const losses = [baseLoss, ...state.history.map((e) => e.valLoss as number), entry.valLoss];
        if (shouldStop(losses, params)) {
          done = true;
          stopReason = 'early-stopping';
        }
      }
    }
    const next: HistGradientBoostingState = { ...state, epoch, done, rng: rngBox.rng, model: nextModel, history: [...state.history, entry] };
    if (stopReason) next.stopReason = stopReason;
    return next;
  },

  predict(state, X) {
    if (X.columns.length !== state.numFeatures) {
      throw new MlcycleError('DATA_INVALID', `the rows have ${X.columns.length} features; the model was trained on ${state.numFeatures}`);
    }
    return link(state.task, rawScores(X, state.model, state.width), state.width);
  },

  importance(state) {
    const values = new Array<number>(state.numFeatures).fill(0);
    for (const tree of state.model.trees) {
      for (let i = 0; i < tree.feature.length; i++) {
        const f = tree.feature[i] as number;
        if (f >= 0) values[f] = (values[f] as number) + (tree.gain[i] as number);
      }
    }
    return { kind: 'gain', values };
  },
};
