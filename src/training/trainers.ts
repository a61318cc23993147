/**
 * The built-in trainers and the resumable training loop.
 *
 * A trainer is a set of pure functions over a JSON-serializable state: `init` builds epoch 0,
 * `step` does one epoch and returns a new state (the old one is never modified), `predictProba`
 * scores rows. The state carries everything the next epoch depends on — weights or trees, the
 * epoch counter, the random generator's state, the parsed params and the loss history — so a
 * checkpoint is just the state, and training resumed from a checkpoint is bit-for-bit the same as
 * training that was never interrupted (JSON keeps every finite double exactly).
 *
 * `runTraining` drives a trainer epoch by epoch, reports progress, hands out a checkpoint every
 * `checkpointEvery` epochs and yields to the event loop between epochs, so the activity that runs
 * it can heartbeat and notice cancellation.
 *
 * Logistic regression: (mini-)batch gradient descent on the log loss with an L2 penalty on the
 * weights (not the bias); rows are reshuffled every epoch by a seeded generator. The math is two
 * plain loops (a dot product and an axpy per row) rather than ml-matrix: its general `mmul` reads
 * every element through `get()`, which measured ~40 ms for one 100k × 15 matrix-vector product and
 * ~0.3 ms per 256-row batch (selection + mmul + transposeMultiply), i.e. ~20 s for 100 epochs on
 * 100k rows against ~2.5 s with the loops over a packed Float64Array.
 *
 * Gradient boosting: Newton boosting on the log loss (as in XGBoost/LightGBM): each round fits one
 * regression tree to the gradients g = p - y with hessians h = p(1 - p), split gain
 * G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ), leaf value -learningRate·G/(H+λ).
 * The trees are grown here on histograms (features pre-binned into at most `maxBins` quantile
 * bins), not with ml-cart: ml-cart's DecisionTreeRegression does serialize (toJSON/load round-trip
 * predictions exactly) but its split search re-partitions the whole node for every candidate
 * threshold, O(features · n²) per node: one depth-3 tree took 1.1 s on 2,000 rows × 15 features and
 * 4.3 s on 4,000 (measured with ml-cart 2.1.1), so 100 rounds on 100k rows would take days; it
 * also has no way to weight samples by hessian. ml-random-forest builds on the same trees. The
 * histogram trees (with the sibling-histogram subtraction trick) take ~30 ms a round on 100k × 15,
 * ~3 s for 100 rounds, and are stored as flat JSON arrays.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import seedrandom from 'seedrandom';
import { quantileSorted } from 'simple-statistics';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { BUILTIN_TRAINERS } from '../spec/pipeline-spec';
import { auc, logloss } from './metrics';

export type TrainerName = (typeof BUILTIN_TRAINERS)[number];

/** `train.params` as the spec holds them, before a trainer validates them. */
export type RawParams = Readonly<Record<string, number | string | boolean>>;

/** Encoded rows (see features.ts) and 0/1 labels. Treated as immutable once passed in. */
export interface TrainingData {
  X: number[][];
  y: number[];
}

export interface EpochMetrics {
  /** 1-based number of the epoch just finished. */
  epoch: number;
  /** Log loss on the training rows after this epoch. */
  loss: number;
  valLoss?: number;
  valAuc?: number;
}

type RngState = seedrandom.State.Alea;

// ---------------------------------------------------------------------------------------------
// Params

const learningRate = (def: number) => z.number().gt(0, 'must be > 0').default(def);
const epochs = (def: number) =>
  z.number().int('must be an integer').min(1, 'must be >= 1').max(1_000_000, 'must be <= 1000000').default(def);

export const LogisticRegressionParamsSchema = z
  .object({
    learningRate: learningRate(0.1),
    epochs: epochs(100),
    /** L2 penalty on the weights (the bias is not penalized). */
    l2: z.number().min(0, 'must be >= 0').default(0.0001),
    /** Rows per gradient step; default 256. Use a value >= the number of rows for full-batch descent. */
    batchSize: z.number().int('must be an integer').min(1, 'must be >= 1').optional(),
  })
  .strict();
export type LogisticRegressionParams = z.infer<typeof LogisticRegressionParamsSchema>;

export const GradientBoostingParamsSchema = z
  .object({
    /** Boosting rounds; each adds one tree. */
    epochs: epochs(100),
    learningRate: learningRate(0.1).refine((v) => v <= 1, 'must be <= 1'),
    maxDepth: z.number().int('must be an integer').min(1, 'must be >= 1').max(16, 'must be <= 16').default(3),
    /** Fewest training rows a leaf may hold. */
    minNumSamples: z.number().int('must be an integer').min(1, 'must be >= 1').default(10),
    /** L2 regularization of leaf values (λ). */
    l2: z.number().min(0, 'must be >= 0').default(1),
    /** Fraction of rows (drawn anew each round with the seeded generator) each tree is fitted on. */
    subsample: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').default(1),
    /** Histogram bins per feature. */
    maxBins: z.number().int('must be an integer').min(2, 'must be >= 2').max(256, 'must be <= 256').default(255),
  })
  .strict();
export type GradientBoostingParams = z.infer<typeof GradientBoostingParamsSchema>;

function parseParams<S extends z.ZodType>(schema: S, params: RawParams, trainer: TrainerName): z.infer<S> {
  const result = schema.safeParse(params);
  if (!result.success) {
    throw new MlcycleError('SPEC_INVALID', `invalid params for trainer ${trainer}:\n${formatIssues(result.error, 'train.params')}`);
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// State

interface StateBase<N extends TrainerName, P> {
  trainer: N;
  params: P;
  seed: number;
  /** Epochs completed. */
  epoch: number;
  totalEpochs: number;
  numFeatures: number;
  rng: RngState;
  history: EpochMetrics[];
}

export interface LogisticRegressionState extends StateBase<'logistic-regression', LogisticRegressionParams> {
  model: { weights: number[]; bias: number };
}

/**
 * A regression tree as flat arrays indexed by node (root = 0). A node with `feature[i] === -1` is a
 * leaf worth `value[i]` (already scaled by the learning rate); otherwise rows with
 * `x[feature[i]] <= threshold[i]` go to `left[i]`, the others to `right[i]`.
 */
export interface RegressionTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

export interface GradientBoostingState extends StateBase<'gradient-boosting', GradientBoostingParams> {
  model: {
    /** Initial log-odds (of the training positive rate). */
    baseScore: number;
    /** Per feature, the ascending bin edges the trees split on (fixed at init). */
    edges: number[][];
    trees: RegressionTree[];
  };
}

export type TrainerState = LogisticRegressionState | GradientBoostingState;

export interface Trainer {
  readonly name: TrainerName;
  /** Validates `train.params` and fills in defaults; throws SPEC_INVALID naming the bad param. */
  parseParams(params: RawParams): LogisticRegressionParams | GradientBoostingParams;
  init(data: TrainingData, params: RawParams, seed: number): TrainerState;
  /** One epoch; returns a new state. */
  step(state: TrainerState, data: TrainingData): TrainerState;
  totalEpochs(params: RawParams): number;
  /** Probability of class 1 for each row. */
  predictProba(state: TrainerState, X: readonly (readonly number[])[]): number[];
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-6), 1 - 1e-6);
  return Math.log(q / (1 - q));
}

function newRng(seed: number): RngState {
  return seedrandom.alea(String(seed), { state: true }).state();
}

function restoreRng(state: RngState): seedrandom.StatefulPRNG<RngState> {
  return seedrandom.alea('', { state: { ...state } });
}

/** Throws DATA_INVALID unless X is a non-empty rectangular finite matrix and y holds both 0 and 1. */
export function validateTrainingData(data: TrainingData, what = 'training data'): number {
  const { X, y } = data;
  if (X.length === 0) throw new MlcycleError('DATA_INVALID', `${what} has no rows`);
  if (X.length !== y.length) throw new MlcycleError('DATA_INVALID', `${what} has ${X.length} rows but ${y.length} labels`);
  const d = (X[0] as number[]).length;
  if (d === 0) throw new MlcycleError('DATA_INVALID', `${what} has no features`);
  let positives = 0;
  for (let i = 0; i < X.length; i++) {
    const row = X[i] as number[];
    if (row.length !== d) throw new MlcycleError('DATA_INVALID', `${what} row ${i + 1} has ${row.length} features, expected ${d}`);
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(row[j])) throw new MlcycleError('DATA_INVALID', `${what} row ${i + 1} feature ${j + 1} is not a finite number`);
    }
    const label = y[i];
    if (label !== 0 && label !== 1) throw new MlcycleError('DATA_INVALID', `${what} label ${i + 1} is ${String(label)}, expected 0 or 1`);
    positives += label;
  }
  if (what === 'training data' && (positives === 0 || positives === X.length)) {
    throw new MlcycleError('DATA_INVALID', `${what} has only one class (${positives === 0 ? 'no positives' : 'no negatives'}); a classifier needs both`);
  }
  return d;
}

function checkState<N extends TrainerName>(state: TrainerState, name: N): asserts state is Extract<TrainerState, { trainer: N }> {
  if (state.trainer !== name) throw new MlcycleError('TRAINING_FAILED', `a ${state.trainer} state was given to the ${name} trainer`);
}

function checkWidth(state: TrainerState, X: readonly (readonly number[])[]): void {
  for (let i = 0; i < X.length; i++) {
    const w = (X[i] as readonly number[]).length;
    if (w !== state.numFeatures) {
      throw new MlcycleError('DATA_INVALID', `row ${i + 1} has ${w} features; the model was trained on ${state.numFeatures}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Logistic regression

/**
 * X packed row-major into one Float64Array, cached per X: visiting rows in shuffled order is
 * ~3x faster on contiguous memory than on one heap array per row.
 */
const packedCache = new WeakMap<object, Float64Array>();

function packed(X: readonly (readonly number[])[], d: number): Float64Array {
  let p = packedCache.get(X);
  if (p === undefined || p.length !== X.length * d) {
    p = new Float64Array(X.length * d);
    for (let i = 0; i < X.length; i++) p.set(X[i] as readonly number[], i * d);
    packedCache.set(X, p);
  }
  return p;
}

function lrProba(model: LogisticRegressionState['model'], X: readonly (readonly number[])[]): number[] {
  const w = model.weights;
  const d = w.length;
  const out = new Array<number>(X.length);
  for (let i = 0; i < X.length; i++) {
    const row = X[i] as readonly number[];
    let z = model.bias;
    for (let j = 0; j < d; j++) z += (w[j] as number) * (row[j] as number);
    out[i] = sigmoid(z);
  }
  return out;
}

export const logisticRegression: Trainer = {
  name: 'logistic-regression',

  parseParams: (params) => parseParams(LogisticRegressionParamsSchema, params, 'logistic-regression'),

  totalEpochs(params) {
    return parseParams(LogisticRegressionParamsSchema, params, 'logistic-regression').epochs;
  },

  init(data, raw, seed): LogisticRegressionState {
    const params = parseParams(LogisticRegressionParamsSchema, raw, 'logistic-regression');
    const d = validateTrainingData(data);
    let positives = 0;
    for (const label of data.y) positives += label;
    return {
      trainer: 'logistic-regression',
      params,
      seed,
      epoch: 0,
      totalEpochs: params.epochs,
      numFeatures: d,
      rng: newRng(seed),
      history: [],
      // Zero weights and the prior log-odds as bias: a deterministic start that already predicts
      // the base rate.
      model: { weights: new Array<number>(d).fill(0), bias: logit(positives / data.y.length) },
    };
  },

  step(state, data): LogisticRegressionState {
    checkState(state, 'logistic-regression');
    const { learningRate: lr, l2 } = state.params;
    const { y } = data;
    const n = y.length;
    const d = state.numFeatures;
    const P = packed(data.X, d);
    const batch = Math.min(state.params.batchSize ?? 256, n);
    const rng = restoreRng(state.rng);

    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (batch < n) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        const t = order[i] as number;
        order[i] = order[j] as number;
        order[j] = t;
      }
    }

    const w = Float64Array.from(state.model.weights);
    const grad = new Float64Array(d);
    let bias = state.model.bias;
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(start + batch, n);
      const m = end - start;
      grad.fill(0);
      let gradBias = 0;
      for (let k = start; k < end; k++) {
        const i = order[k] as number;
        const o = i * d;
        let z = bias;
        for (let j = 0; j < d; j++) z += (w[j] as number) * (P[o + j] as number);
        const r = sigmoid(z) - (y[i] as number);
        gradBias += r;
        for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + r * (P[o + j] as number);
      }
      // w ← w − lr · (Xbᵀ r / m + l2 · w);  b ← b − lr · Σr / m
      for (let j = 0; j < d; j++) {
        const wj = w[j] as number;
        w[j] = wj - lr * ((grad[j] as number) / m + l2 * wj);
      }
      bias -= (lr * gradBias) / m;
    }
    const model = { weights: Array.from(w), bias };
    const loss = logloss(y, lrProba(model, data.X));
    return {
      ...state,
      epoch: state.epoch + 1,
      rng: rng.state(),
      model,
      history: [...state.history, { epoch: state.epoch + 1, loss }],
    };
  },

  predictProba(state, X) {
    checkState(state, 'logistic-regression');
    checkWidth(state, X);
    return lrProba(state.model, X);
  },
};

// ---------------------------------------------------------------------------------------------
// Gradient boosting

/** Bin edges for one feature: midpoints between distinct values, or quantiles when there are many. */
function featureEdges(X: readonly number[][], f: number, maxBins: number): number[] {
  const col = new Float64Array(X.length);
  for (let i = 0; i < X.length; i++) col[i] = (X[i] as number[])[f] as number;
  col.sort();
  const distinct: number[] = [];
  for (let i = 0; i < col.length; i++) {
    const v = col[i] as number;
    if (distinct.length === 0 || v !== distinct[distinct.length - 1]) distinct.push(v);
  }
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let k = 0; k + 1 < distinct.length; k++) edges.push(((distinct[k] as number) + (distinct[k + 1] as number)) / 2);
    return edges;
  }
  const sorted = Array.from(col);
  const max = sorted[sorted.length - 1] as number;
  for (let k = 1; k < maxBins; k++) {
    const q = quantileSorted(sorted, k / maxBins);
    if (q < max && (edges.length === 0 || q > (edges[edges.length - 1] as number))) edges.push(q);
  }
  return edges;
}

/** Index of the first edge >= v (edges.length when v is above them all): x <= edges[k] ⇔ bin(x) <= k. */
function binOf(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface BinnedData {
  edges: number[][];
  /** Row-major bin indices: bins[i * numFeatures + f]. */
  bins: Uint8Array;
}
const binnedCache = new WeakMap<object, BinnedData>();

function binned(X: readonly number[][], edges: number[][]): Uint8Array {
  const d = edges.length;
  const cached = binnedCache.get(X);
  if (cached !== undefined && cached.edges === edges && cached.bins.length === X.length * d) return cached.bins;
  const bins = new Uint8Array(X.length * d);
  for (let i = 0; i < X.length; i++) {
    const row = X[i] as number[];
    for (let f = 0; f < d; f++) bins[i * d + f] = binOf(edges[f] as number[], row[f] as number);
  }
  binnedCache.set(X, { edges, bins });
  return bins;
}

function treeValue(tree: RegressionTree, row: readonly number[]): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node] as number;
    if (f < 0) return tree.value[node] as number;
    node = ((row[f] as number) <= (tree.threshold[node] as number) ? tree.left[node] : tree.right[node]) as number;
  }
}

/**
 * Raw scores (log-odds) of rows under a model, cached per X: the cache remembers which trees it
 * has added, so scoring after one more round only adds that tree. Scores are always summed as
 * baseScore + tree 1 + tree 2 + … in order, so a cache rebuilt from scratch (after a resume) holds
 * exactly the same numbers.
 */
interface ScoreCache {
  baseScore: number;
  trees: RegressionTree[];
  scores: Float64Array;
}
const scoreCache = new WeakMap<object, ScoreCache>();

function gbScores(X: readonly (readonly number[])[], model: GradientBoostingState['model']): ScoreCache {
  let cache = scoreCache.get(X);
  const valid =
    cache !== undefined &&
    cache.baseScore === model.baseScore &&
    cache.scores.length === X.length &&
    cache.trees.length <= model.trees.length &&
    cache.trees.every((t, i) => t === model.trees[i]);
  if (!valid || cache === undefined) {
    cache = { baseScore: model.baseScore, trees: [], scores: new Float64Array(X.length).fill(model.baseScore) };
    scoreCache.set(X, cache);
  }
  for (let t = cache.trees.length; t < model.trees.length; t++) {
    const tree = model.trees[t] as RegressionTree;
    for (let i = 0; i < X.length; i++) cache.scores[i] = (cache.scores[i] as number) + treeValue(tree, X[i] as number[]);
  }
  cache.trees = model.trees;
  return cache;
}

interface GrowContext {
  bins: Uint8Array;
  numFeatures: number;
  nBins: number[];
  /** Histogram slots per feature (the largest bin count). */
  stride: number;
  edges: number[][];
  g: Float64Array;
  h: Float64Array;
  params: GradientBoostingParams;
  tree: RegressionTree;
}

/** Per feature and bin: sum of gradients, sum of hessians, row count (slot f * stride + bin). */
interface Histogram {
  G: Float64Array;
  H: Float64Array;
  C: Float64Array;
}

function buildHistogram(ctx: GrowContext, rows: Uint32Array): Histogram {
  const { bins, numFeatures: d, stride, g, h } = ctx;
  const size = d * stride;
  const G = new Float64Array(size);
  const H = new Float64Array(size);
  const C = new Float64Array(size);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    const gr = g[r] as number;
    const hr = h[r] as number;
    const base = r * d;
    for (let f = 0; f < d; f++) {
      const slot = f * stride + (bins[base + f] as number);
      G[slot] = (G[slot] as number) + gr;
      H[slot] = (H[slot] as number) + hr;
      C[slot] = (C[slot] as number) + 1;
    }
  }
  return { G, H, C };
}

/** parent − child: the sibling's histogram without a pass over its rows. */
function subtractHistogram(parent: Histogram, child: Histogram): Histogram {
  const G = Float64Array.from(parent.G);
  const H = Float64Array.from(parent.H);
  const C = Float64Array.from(parent.C);
  for (let i = 0; i < G.length; i++) {
    G[i] = (G[i] as number) - (child.G[i] as number);
    H[i] = (H[i] as number) - (child.H[i] as number);
    C[i] = (C[i] as number) - (child.C[i] as number);
  }
  return { G, H, C };
}

const MIN_GAIN = 1e-12;

/**
 * Grows the subtree for `rows` depth-first and returns its root's node index. `hist` is the
 * histogram of `rows` (made by the parent) when the node may split.
 */
function grow(ctx: GrowContext, rows: Uint32Array, depth: number, hist?: Histogram): number {
  const { tree, g, h, params } = ctx;
  const node = tree.feature.length;
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);

  let G = 0;
  let H = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    G += g[r] as number;
    H += h[r] as number;
  }
  const lambda = params.l2;
  tree.value[node] = (-params.learningRate * G) / (H + lambda);
  const minLeaf = params.minNumSamples;
  if (!canSplit(ctx, rows.length, depth)) return node;

  const { G: HG, H: HH, C: HC } = hist ?? buildHistogram(ctx, rows);
  const parentScore = (G * G) / (H + lambda);
  let bestGain = MIN_GAIN;
  let bestFeature = -1;
  let bestBin = -1;
  for (let f = 0; f < ctx.numFeatures; f++) {
    const nb = ctx.nBins[f] as number;
    const off = f * ctx.stride;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      gl += HG[off + b] as number;
      hl += HH[off + b] as number;
      cl += HC[off + b] as number;
      if (cl < minLeaf) continue;
      if (rows.length - cl < minLeaf) break;
      const gr = G - gl;
      const hr = H - hl;
      if (hl + lambda <= 1e-12 || hr + lambda <= 1e-12) continue;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        bestFeature = f;
        bestBin = b;
      }
    }
  }
  if (bestFeature < 0) return node;

  const { bins, numFeatures: d } = ctx;
  let nLeft = 0;
  for (let k = 0; k < rows.length; k++) if ((bins[(rows[k] as number) * d + bestFeature] as number) <= bestBin) nLeft++;
  const leftRows = new Uint32Array(nLeft);
  const rightRows = new Uint32Array(rows.length - nLeft);
  let li = 0;
  let ri = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    if ((bins[r * d + bestFeature] as number) <= bestBin) leftRows[li++] = r;
    else rightRows[ri++] = r;
  }
  tree.feature[node] = bestFeature;
  tree.threshold[node] = (ctx.edges[bestFeature] as number[])[bestBin] as number;

  // Histogram of the smaller child by a pass over its rows, the larger one's by subtraction.
  let leftHist: Histogram | undefined;
  let rightHist: Histogram | undefined;
  if (canSplit(ctx, leftRows.length, depth + 1) || canSplit(ctx, rightRows.length, depth + 1)) {
    const parentHist: Histogram = { G: HG, H: HH, C: HC };
    if (leftRows.length <= rightRows.length) {
      leftHist = buildHistogram(ctx, leftRows);
      rightHist = subtractHistogram(parentHist, leftHist);
    } else {
      rightHist = buildHistogram(ctx, rightRows);
      leftHist = subtractHistogram(parentHist, rightHist);
    }
  }
  tree.left[node] = grow(ctx, leftRows, depth + 1, leftHist);
  tree.right[node] = grow(ctx, rightRows, depth + 1, rightHist);
  return node;
}

function canSplit(ctx: GrowContext, rows: number, depth: number): boolean {
  return depth < ctx.params.maxDepth && rows >= 2 * ctx.params.minNumSamples;
}

export const gradientBoosting: Trainer = {
  name: 'gradient-boosting',

  parseParams: (params) => parseParams(GradientBoostingParamsSchema, params, 'gradient-boosting'),

  totalEpochs(params) {
    return parseParams(GradientBoostingParamsSchema, params, 'gradient-boosting').epochs;
  },

  init(data, raw, seed): GradientBoostingState {
    const params = parseParams(GradientBoostingParamsSchema, raw, 'gradient-boosting');
    const d = validateTrainingData(data);
    let positives = 0;
    for (const label of data.y) positives += label;
    const edges = Array.from({ length: d }, (_, f) => featureEdges(data.X, f, params.maxBins));
    return {
      trainer: 'gradient-boosting',
      params,
      seed,
      epoch: 0,
      totalEpochs: params.epochs,
      numFeatures: d,
      rng: newRng(seed),
      history: [],
      model: { baseScore: logit(positives / data.y.length), edges, trees: [] },
    };
  },

  step(state, data): GradientBoostingState {
    checkState(state, 'gradient-boosting');
    const { params, model } = state;
    const n = data.y.length;
    const bins = binned(data.X, model.edges);
    const cache = gbScores(data.X, model);

    const g = new Float64Array(n);
    const h = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(cache.scores[i] as number);
      g[i] = p - (data.y[i] as number);
      h[i] = Math.max(p * (1 - p), 1e-16);
    }

    const rng = restoreRng(state.rng);
    let rows: Uint32Array;
    if (params.subsample < 1) {
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (rng() < params.subsample) picked.push(i);
      rows = Uint32Array.from(picked.length > 0 ? picked : Array.from({ length: n }, (_, i) => i));
    } else {
      rows = new Uint32Array(n);
      for (let i = 0; i < n; i++) rows[i] = i;
    }

    const nBins = model.edges.map((e) => e.length + 1);
    const tree: RegressionTree = { feature: [], threshold: [], left: [], right: [], value: [] };
    grow(
      { bins, numFeatures: state.numFeatures, nBins, stride: Math.max(...nBins), edges: model.edges, g, h, params, tree },
      rows,
      0,
    );

    const nextModel = { ...model, trees: [...model.trees, tree] };
    const scores = gbScores(data.X, nextModel).scores;
    const proba = new Array<number>(n);
    for (let i = 0; i < n; i++) proba[i] = sigmoid(scores[i] as number);
    const loss = logloss(data.y, proba);
    return {
      ...state,
      epoch: state.epoch + 1,
      rng: rng.state(),
      model: nextModel,
      history: [...state.history, { epoch: state.epoch + 1, loss }],
    };
  },

  predictProba(state, X) {
    checkState(state, 'gradient-boosting');
    checkWidth(state, X);
    const scores = gbScores(X, state.model).scores;
    return Array.from(scores, sigmoid);
  },
};

// ---------------------------------------------------------------------------------------------
// Registry

export const TRAINERS: Readonly<Record<TrainerName, Trainer>> = {
  'logistic-regression': logisticRegression,
  'gradient-boosting': gradientBoosting,
};

export function getTrainer(name: string): Trainer {
  const trainer = (TRAINERS as Record<string, Trainer | undefined>)[name];
  if (trainer === undefined) {
    throw new MlcycleError('SPEC_INVALID', `unknown trainer "${name}"; built-in trainers: ${Object.keys(TRAINERS).join(', ')}`);
  }
  return trainer;
}

// ---------------------------------------------------------------------------------------------
// The training loop

export interface Checkpoint {
  format: 'mlcycle-checkpoint/v1';
  trainer: TrainerName;
  /** Epochs completed. */
  epoch: number;
  totalEpochs: number;
  seed: number;
  /** Fingerprint of the training data; resuming on different data is refused. */
  dataFingerprint: string;
  state: TrainerState;
}

export interface RunTrainingOptions {
  trainer: TrainerName | Trainer;
  data: TrainingData;
  /** Held-out rows scored after every epoch (valLoss, valAuc). */
  validation?: TrainingData;
  params: RawParams;
  seed: number;
  /** Continue from this checkpoint (made by a run with the same trainer, params, seed and data). */
  resumeFrom?: Checkpoint;
  /** Hand out a checkpoint after every this many epochs (counted from epoch 0, so resuming keeps the cadence). */
  checkpointEvery: number;
  onEpoch?: (epoch: number, total: number, metrics: EpochMetrics) => void | Promise<void>;
  /** Awaited before training goes on; the caller stores the checkpoint. */
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  /** Checked between epochs; when aborted, runTraining rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface TrainingResult {
  state: TrainerState;
  history: EpochMetrics[];
  /** 0 for a fresh run, else the epoch of the checkpoint it resumed from. */
  resumedFromEpoch: number;
}

/** A cheap 64-bit FNV-1a fingerprint of the shape and every value of X and y. */
export function fingerprintData(data: TrainingData): string {
  const buf = new Float64Array(1);
  const words = new Uint32Array(buf.buffer);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (v: number): void => {
    buf[0] = v;
    const lo = words[0] as number;
    const hi = words[1] as number;
    h1 = Math.imul(h1 ^ lo, 0x01000193);
    h1 = Math.imul(h1 ^ hi, 0x01000193);
    h2 = Math.imul(h2 ^ hi, 0x5bd1e995);
    h2 = Math.imul(h2 ^ lo, 0x5bd1e995) ^ (h2 >>> 15);
  };
  for (const row of data.X) {
    mix(row.length);
    for (const v of row) mix(v);
  }
  for (const v of data.y) mix(v);
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `${data.X.length}x${data.X[0]?.length ?? 0}:${hex(h1)}${hex(h2)}`;
}

function makeCheckpoint(state: TrainerState, dataFingerprint: string): Checkpoint {
  return {
    format: 'mlcycle-checkpoint/v1',
    trainer: state.trainer,
    epoch: state.epoch,
    totalEpochs: state.totalEpochs,
    seed: state.seed,
    dataFingerprint,
    state,
  };
}

function checkResumable(cp: Checkpoint, trainer: Trainer, params: unknown, seed: number, fingerprint: string): void {
  const refuse = (why: string): never => {
    throw new MlcycleError('TRAINING_FAILED', `cannot resume from the epoch-${String(cp.epoch)} checkpoint: ${why}`);
  };
  if (cp.format !== 'mlcycle-checkpoint/v1') refuse(`unknown checkpoint format ${JSON.stringify(cp.format)}`);
  if (cp.state.trainer !== trainer.name) refuse(`it was made by trainer ${cp.state.trainer}, this run uses ${trainer.name}`);
  if (cp.state.seed !== seed) refuse(`it was made with seed ${cp.state.seed}, this run uses ${seed}`);
  if (JSON.stringify(cp.state.params) !== JSON.stringify(params)) {
    refuse(`it was made with params ${JSON.stringify(cp.state.params)}, this run has ${JSON.stringify(params)}`);
  }
  if (cp.dataFingerprint !== fingerprint) refuse(`the training data differ (fingerprint ${cp.dataFingerprint}, now ${fingerprint})`);
}

/**
 * Trains epoch by epoch from scratch or from `resumeFrom`. Resuming gives bit-identical results
 * to an uninterrupted run with the same seed, params and data.
 */
export async function runTraining(options: RunTrainingOptions): Promise<TrainingResult> {
  const trainer = typeof options.trainer === 'string' ? getTrainer(options.trainer) : options.trainer;
  const { data, validation, seed, signal } = options;
  const every = options.checkpointEvery;
  if (!Number.isInteger(every) || every < 1) throw new MlcycleError('SPEC_INVALID', `train.checkpointEvery: must be a positive integer, got ${every}`);
  signal?.throwIfAborted();

  const params = trainer.parseParams(options.params);
  validateTrainingData(data);
  if (validation !== undefined) validateTrainingData(validation, 'validation data');
  const fingerprint = fingerprintData(data);

  let state: TrainerState;
  if (options.resumeFrom !== undefined) {
    checkResumable(options.resumeFrom, trainer, params, seed, fingerprint);
    state = structuredClone(options.resumeFrom.state);
  } else {
    state = trainer.init(data, options.params, seed);
  }
  const resumedFromEpoch = state.epoch;
  const total = state.totalEpochs;

  while (state.epoch < total) {
    signal?.throwIfAborted();
    state = trainer.step(state, data);
    const last = state.history[state.history.length - 1] as EpochMetrics;
    let metrics: EpochMetrics = last;
    if (validation !== undefined) {
      const proba = trainer.predictProba(state, validation.X);
      metrics = { ...last, valLoss: logloss(validation.y, proba) };
      const valAuc = auc(validation.y, proba);
      if (!Number.isNaN(valAuc)) metrics.valAuc = valAuc; // NaN when validation holds one class
      state = { ...state, history: [...state.history.slice(0, -1), metrics] };
    }
    await options.onEpoch?.(state.epoch, total, metrics);
    if (state.epoch % every === 0) await options.onCheckpoint?.(makeCheckpoint(state, fingerprint));
    // Let timers and I/O (activity heartbeats, cancellation) through between epochs.
    await yieldToEventLoop();
  }
  return { state, history: state.history, resumedFromEpoch };
}
