/**
 * Linear models fitted to convergence with L-BFGS: logistic regression (binary), softmax
 * regression (multiclass) and least squares (regression), each with an L2 penalty.
 *
 * Objective: (1/Σw) Σ_i w_i ℓ(z_i, y_i) + (l2/2) Σ coef² (intercepts are not penalized), with
 * ℓ the log loss (binary, softmax) or half the squared error. Features are standardized inside
 * the model (mean and standard deviation of the training rows; a missing value counts as the
 * mean, i.e. 0 after standardizing), so the coefficients are standardized coefficients, the
 * tolerance means the same thing on every data set, and the default `l2 = 1/Σw` is scikit-learn's
 * `LogisticRegression(C=1)` on standardized features. Regression also standardizes the target.
 *
 * Stopping, as scikit-learn's lbfgs: the largest gradient component ≤ `tol`, or the objective's
 * relative decrease ≤ 2.2e-9 (scipy's default factr), or `epochs` iterations. One step of the
 * trainer is one L-BFGS iteration (two-loop recursion over the last `memory` pairs, backtracking
 * line search with the Armijo condition). The state carries the optimizer's memory, so a resumed
 * run repeats the uninterrupted one exactly.
 *
 * Hot loops run column by column over the FeatureMatrix's Float64Arrays into work buffers that
 * are allocated once per data set (not per iteration); the standardization is folded into the
 * coefficients, so the data is never copied.
 */
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { FeatureMatrix, TaskType } from './feature-matrix';
import {
  classCount,
  outputWidth,
  predictionLoss,
  type EngineStateBase,
  type FitData,
  type ModelTrainer,
  type RawParams,
} from './trainer-contract';

export const LinearModelParamsSchema = z
  .object({
    /** Iteration cap (scikit-learn's max_iter). */
    epochs: z.number().int('must be an integer').min(1, 'must be >= 1').max(1_000_000, 'must be <= 1000000').default(100),
    /** L2 strength on the mean loss; default 1/Σweights (scikit-learn C=1). */
    l2: z.number().min(0, 'must be >= 0').optional(),
    /** Stop when the largest gradient component is at most this. */
    tol: z.number().gt(0, 'must be > 0').default(1e-4),
    /** L-BFGS memory (pairs kept). */
    memory: z.number().int('must be an integer').min(1, 'must be >= 1').max(100, 'must be <= 100').default(10),
    /** Length of the first step along the normalized gradient; later steps come from the curvature estimate. */
    learningRate: z.number().gt(0, 'must be > 0').default(1),
  })
  .strict();

export interface LinearModelParams {
  epochs: number;
  l2: number;
  tol: number;
  memory: number;
  learningRate: number;
}

export interface LinearModelState extends EngineStateBase<'logistic-regression', LinearModelParams> {
  converged: boolean;
  /** Outputs per row: 1 (binary, regression) or k (multiclass). */
  width: number;
  model: {
    mean: number[];
    scale: number[];
    /** Standardized coefficients, output-major: coef[c * d + j]. */
    coef: number[];
    intercept: number[];
    /** Regression: the target's mean and scale (predictions are mapped back with them). */
    yMean: number;
    yScale: number;
  };
  opt: {
    f: number;
    g: number[];
    s: number[][];
    y: number[][];
  };
}

const FTOL = 2.220446049250313e-9;

function parse(raw: RawParams): z.infer<typeof LinearModelParamsSchema> {
  const result = LinearModelParamsSchema.safeParse(raw);
  if (!result.success) {
    throw new MlcycleError('SPEC_INVALID', `invalid params for trainer logistic-regression:\n${formatIssues(result.error, 'train.params')}`);
  }
  return result.data;
}

/** Work buffers per data set: allocated once, reused by every iteration. */
interface Workspace {
  z: Float64Array;
  r: Float64Array;
  hasNaN: Uint8Array;
}
const workspaces = new WeakMap<FeatureMatrix, Map<number, Workspace>>();

function workspace(X: FeatureMatrix, width: number): Workspace {
  let byWidth = workspaces.get(X);
  if (!byWidth) workspaces.set(X, (byWidth = new Map<number, Workspace>()));
  let ws = byWidth.get(width);
  if (!ws) {
    const hasNaN = new Uint8Array(X.columns.length);
    X.columns.forEach((col, j) => {
      for (let i = 0; i < col.length; i++) if (col[i] !== col[i]) { hasNaN[j] = 1; break; }
    });
    ws = { z: new Float64Array(X.rows * width), r: new Float64Array(X.rows * width), hasNaN };
    byWidth.set(width, ws);
  }
  return ws;
}

interface Problem {
  task: TaskType;
  X: FeatureMatrix;
  y: Float64Array;
  w: Float64Array | undefined;
  wsum: number;
  d: number;
  k: number;
  l2: number;
  mean: Float64Array;
  scale: Float64Array;
  yMean: number;
  yScale: number;
  ws: Workspace;
}

/** Linear scores z (n×k row-major) for packed parameters x = [coef (k×d) | intercept (k)]. */
function scores(p: Pick<Problem, 'X' | 'd' | 'k' | 'mean' | 'scale'>, x: ArrayLike<number>, z: Float64Array, hasNaN: Uint8Array): void {
  const { X, d, k, mean, scale } = p;
  const n = X.rows;
  // Fold the standardization into the coefficients: a_cj = coef_cj / σ_j, b_c = intercept_c − Σ_j a_cj μ_j.
  for (let c = 0; c < k; c++) {
    let b = x[k * d + c] as number;
    for (let j = 0; j < d; j++) b -= ((x[c * d + j] as number) / (scale[j] as number)) * (mean[j] as number);
    for (let i = 0; i < n; i++) z[i * k + c] = b;
  }
  for (let j = 0; j < d; j++) {
    const col = X.columns[j] as Float64Array;
    const mu = mean[j] as number;
    const sj = scale[j] as number;
    if (k === 1) {
      const a = (x[j] as number) / sj;
      if (a === 0) continue;
      if (hasNaN[j]) {
        for (let i = 0; i < n; i++) {
          const v = col[i] as number;
          z[i] = (z[i] as number) + a * (v === v ? v : mu);
        }
      } else {
        for (let i = 0; i < n; i++) z[i] = (z[i] as number) + a * (col[i] as number);
      }
    } else {
      for (let c = 0; c < k; c++) {
        const a = (x[c * d + j] as number) / sj;
        if (a === 0) continue;
        for (let i = 0, o = c; i < n; i++, o += k) {
          const v = col[i] as number;
          z[o] = (z[o] as number) + a * (v === v ? v : mu);
        }
      }
    }
  }
}

function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/** Objective and gradient (into g) at x. */
function evaluate(p: Problem, x: Float64Array, g: Float64Array): number {
  const { X, y, w, wsum, d, k, l2, task, ws } = p;
  const n = X.rows;
  const { z, r } = ws;
  scores(p, x, z, ws.hasNaN);
  let loss = 0;
  const inv = 1 / wsum;
  if (task === 'binary') {
    for (let i = 0; i < n; i++) {
      const zi = z[i] as number;
      const yi = y[i] as number;
      const wi = w ? (w[i] as number) : 1;
      loss += wi * (softplus(zi) - yi * zi);
      const e = Math.exp(-Math.abs(zi));
      const sig = zi >= 0 ? 1 / (1 + e) : e / (1 + e);
      r[i] = wi * (sig - yi) * inv;
    }
  } else if (task === 'regression') {
    const { yMean, yScale } = p;
    for (let i = 0; i < n; i++) {
      const wi = w ? (w[i] as number) : 1;
      const res = (z[i] as number) - ((y[i] as number) - yMean) / yScale;
      loss += 0.5 * wi * res * res;
      r[i] = wi * res * inv;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let max = -Infinity;
      for (let c = 0; c < k; c++) if ((z[o + c] as number) > max) max = z[o + c] as number;
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp((z[o + c] as number) - max);
        r[o + c] = e;
        sum += e;
      }
      const yi = y[i] as number;
      const wi = w ? (w[i] as number) : 1;
      loss += wi * (Math.log(sum) + max - (z[o + yi] as number));
      const f = (wi * inv) / sum;
      for (let c = 0; c < k; c++) r[o + c] = (r[o + c] as number) * f;
      r[o + yi] = (r[o + yi] as number) - wi * inv;
    }
  }
  let f = loss * inv;
  gradient(p, r, g);
  for (let q = 0; q < k * d; q++) {
    const c = x[q] as number;
    f += 0.5 * l2 * c * c;
    g[q] = (g[q] as number) + l2 * c;
  }
  return f;
}

/** g = Xᵀ r in standardized coordinates (residuals r already carry weights and 1/Σw). */
function gradient(p: Problem, r: Float64Array, g: Float64Array): void {
  const { X, d, k, mean, scale, ws } = p;
  const n = X.rows;
  const rsum = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) rsum[c] = (rsum[c] as number) + (r[i * k + c] as number);
  for (let c = 0; c < k; c++) g[k * d + c] = rsum[c] as number;
  for (let j = 0; j < d; j++) {
    const col = X.columns[j] as Float64Array;
    const mu = mean[j] as number;
    const sj = scale[j] as number;
    if (k === 1) {
      let acc = 0;
      if (ws.hasNaN[j]) {
        for (let i = 0; i < n; i++) {
          const v = col[i] as number;
          if (v === v) acc += (r[i] as number) * (v - mu);
        }
      } else {
        for (let i = 0; i < n; i++) acc += (r[i] as number) * (col[i] as number);
        acc -= mu * (rsum[0] as number);
      }
      g[j] = acc / sj;
    } else {
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let i = 0, o = c; i < n; i++, o += k) {
          const v = col[i] as number;
          if (v === v) acc += (r[o] as number) * (v - mu);
        }
        g[c * d + j] = acc / sj;
      }
    }
  }
}

function problemOf(state: LinearModelState, data: FitData): Problem {
  const { X, y } = data.train;
  const d = state.numFeatures;
  const k = state.width;
  const w = data.sampleWeight;
  let wsum = X.rows;
  if (w) {
    wsum = 0;
    for (let i = 0; i < w.length; i++) wsum += w[i] as number;
  }
  return {
    task: state.task,
    X,
    y: y.values,
    w,
    wsum,
    d,
    k,
    l2: state.params.l2,
    mean: Float64Array.from(state.model.mean),
    scale: Float64Array.from(state.model.scale),
    yMean: state.model.yMean,
    yScale: state.model.yScale,
    ws: workspace(X, k),
  };
}

function packParams(model: LinearModelState['model']): Float64Array {
  const x = new Float64Array(model.coef.length + model.intercept.length);
  x.set(model.coef, 0);
  x.set(model.intercept, model.coef.length);
  return x;
}

/**
 * The typed parameters scoring needs, built once per model object: a prediction server scores the
 * same model on every request, and a model object is never changed in place (each optimizer step
 * builds a new one), so the object identifies its parameters.
 */
const scoringParamsCache = new WeakMap<LinearModelState['model'], { x: Float64Array; mean: Float64Array; scale: Float64Array }>();
function scoringParams(model: LinearModelState['model']): { x: Float64Array; mean: Float64Array; scale: Float64Array } {
  let p = scoringParamsCache.get(model);
  if (!p) {
    p = { x: packParams(model), mean: Float64Array.from(model.mean), scale: Float64Array.from(model.scale) };
    scoringParamsCache.set(model, p);
  }
  return p;
}

function dot(a: Float64Array, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

function columnStats(col: Float64Array): { mean: number; scale: number } {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i] as number;
    if (v !== v) continue;
    n++;
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
  }
  const sd = n > 1 ? Math.sqrt(m2 / n) : 0;
  return { mean: n > 0 ? mean : 0, scale: sd > 0 && Number.isFinite(sd) ? sd : 1 };
}

export const linearModel: ModelTrainer<'logistic-regression', LinearModelParams, LinearModelState> = {
  name: 'logistic-regression',

  parseParams(raw, info) {
    const p = parse(raw);
    return { epochs: p.epochs, l2: p.l2 ?? 1 / Math.max(info.rows, 1), tol: p.tol, memory: p.memory, learningRate: p.learningRate };
  },

  init(data, params, seed) {
    const { X, y } = data.train;
    const task = y.task;
    const numClasses = classCount(y);
    const width = outputWidth(task, numClasses);
    const d = X.columns.length;
    const mean: number[] = [];
    const scale: number[] = [];
    for (const col of X.columns) {
      const s = columnStats(col);
      mean.push(s.mean);
      scale.push(s.scale);
    }
    const w = data.sampleWeight;
    const n = X.rows;
    let wsum = 0;
    const classW = new Float64Array(width === 1 ? 2 : width);
    let ysum = 0;
    let ysq = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? (w[i] as number) : 1;
      const yi = y.values[i] as number;
      wsum += wi;
      if (task === 'regression') {
        ysum += wi * yi;
        ysq += wi * yi * yi;
      } else classW[yi] = (classW[yi] as number) + wi;
    }
    let yMean = 0;
    let yScale = 1;
    const intercept = new Array<number>(width).fill(0);
    if (task === 'regression') {
      yMean = ysum / wsum;
      const v = ysq / wsum - yMean * yMean;
      yScale = v > 1e-24 ? Math.sqrt(v) : 1;
    } else if (task === 'binary') {
      const p = Math.min(Math.max((classW[1] as number) / wsum, 1e-6), 1 - 1e-6);
      intercept[0] = Math.log(p / (1 - p));
    } else {
      // Prior log-probabilities, centred: a start that already predicts the class frequencies.
      const logs = Array.from(classW, (c) => Math.log(Math.max(c / wsum, 1e-12)));
      const m = logs.reduce((a, b) => a + b, 0) / logs.length;
      for (let c = 0; c < width; c++) intercept[c] = (logs[c] as number) - m;
    }
    const state: LinearModelState = {
      trainer: 'logistic-regression',
      task,
      params,
      seed,
      epoch: 0,
      totalEpochs: params.epochs,
      done: false,
      converged: false,
      numFeatures: d,
      ...(y.classes ? { classes: [...y.classes] } : {}),
      width,
      history: [],
      model: { mean, scale, coef: new Array<number>(width * d).fill(0), intercept, yMean, yScale },
      opt: { f: 0, g: [], s: [], y: [] },
    };
    const prob = problemOf(state, data);
    const g = new Float64Array(width * (d + 1));
    const f = evaluate(prob, packParams(state.model), g);
    state.opt = { f, g: Array.from(g), s: [], y: [] };
    if (maxAbs(g) <= params.tol) {
      state.done = true;
      state.converged = true;
      state.stopReason = 'converged';
    }
    return state;
  },

  step(state, data) {
    if (state.done) return state;
    const prob = problemOf(state, data);
    const x = packParams(state.model);
    const m = x.length;
    const g = Float64Array.from(state.opt.g);
    const f = state.opt.f;

    // Two-loop recursion: direction = −H·g from the stored (s, y) pairs.
    const q = Float64Array.from(g);
    const pairs = state.opt.s.length;
    const alpha = new Float64Array(pairs);
    const rho = new Float64Array(pairs);
    for (let t = pairs - 1; t >= 0; t--) {
      const s = state.opt.s[t] as number[];
      const yv = state.opt.y[t] as number[];
      let sy = 0;
      for (let i = 0; i < m; i++) sy += (s[i] as number) * (yv[i] as number);
      rho[t] = 1 / sy;
      let a = 0;
      for (let i = 0; i < m; i++) a += (s[i] as number) * (q[i] as number);
      a *= rho[t] as number;
      alpha[t] = a;
      for (let i = 0; i < m; i++) q[i] = (q[i] as number) - a * (yv[i] as number);
    }
    let gamma: number;
    if (pairs > 0) {
      const s = state.opt.s[pairs - 1] as number[];
      const yv = state.opt.y[pairs - 1] as number[];
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < m; i++) {
        sy += (s[i] as number) * (yv[i] as number);
        yy += (yv[i] as number) * (yv[i] as number);
      }
      gamma = sy / yy;
    } else {
      gamma = state.params.learningRate / Math.max(Math.sqrt(dot(g, g)), 1e-12);
    }
    for (let i = 0; i < m; i++) q[i] = (q[i] as number) * gamma;
    for (let t = 0; t < pairs; t++) {
      const s = state.opt.s[t] as number[];
      const yv = state.opt.y[t] as number[];
      let b = 0;
      for (let i = 0; i < m; i++) b += (yv[i] as number) * (q[i] as number);
      b *= rho[t] as number;
      const coeff = (alpha[t] as number) - b;
      for (let i = 0; i < m; i++) q[i] = (q[i] as number) + coeff * (s[i] as number);
    }
    // direction d = −q
    let slope = -dot(g, q);
    if (!(slope < 0)) {
      // Not a descent direction (lost curvature): restart from steepest descent.
      for (let i = 0; i < m; i++) q[i] = (g[i] as number) * (state.params.learningRate / Math.max(Math.sqrt(dot(g, g)), 1e-12));
      slope = -dot(g, q);
    }

    // Backtracking line search with the Armijo condition.
    const xNew = new Float64Array(m);
    const gNew = new Float64Array(m);
    let step = 1;
    let fNew = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < m; i++) xNew[i] = (x[i] as number) - step * (q[i] as number);
      fNew = evaluate(prob, xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    const epoch = state.epoch + 1;
    if (!accepted) {
      // No decrease along the direction: the objective is as low as floating point lets it go.
      return { ...state, epoch, done: true, converged: true, stopReason: 'converged', history: [...state.history, { epoch, loss: trainingLoss(state, f) }] };
    }
    const s = new Array<number>(m);
    const yv = new Array<number>(m);
    let sy = 0;
    for (let i = 0; i < m; i++) {
      s[i] = (xNew[i] as number) - (x[i] as number);
      yv[i] = (gNew[i] as number) - (g[i] as number);
      sy += (s[i] as number) * (yv[i] as number);
    }
    let S = state.opt.s;
    let Y = state.opt.y;
    if (sy > 1e-10) {
      S = [...S, s].slice(-state.params.memory);
      Y = [...Y, yv].slice(-state.params.memory);
    }
    const d = state.numFeatures;
    const k = state.width;
    const model = { ...state.model, coef: Array.from(xNew.subarray(0, k * d)), intercept: Array.from(xNew.subarray(k * d)) };
    const gradConverged = maxAbs(gNew) <= state.params.tol;
    const fConverged = (f - fNew) / Math.max(Math.abs(f), Math.abs(fNew), 1) <= FTOL;
    const converged = gradConverged || fConverged;
    const done = converged || epoch >= state.totalEpochs;
    const stopReason = converged ? 'converged' : done ? 'max-iterations' : undefined;
    const next: LinearModelState = {
      ...state,
      epoch,
      done,
      converged,
      model,
      opt: { f: fNew, g: Array.from(gNew), s: S, y: Y },
      history: [...state.history, { epoch, loss: trainingLoss(state, fNew) }],
    };
    if (stopReason) next.stopReason = stopReason;
    return next;
  },

  predict(state, X) {
    checkWidth(state, X);
    const d = state.numFeatures;
    const k = state.width;
    const n = X.rows;
    const z = new Float64Array(n * k);
    const hasNaN = new Uint8Array(d).fill(1);
    const { x, mean, scale } = scoringParams(state.model);
    scores({ X, d, k, mean, scale }, x, z, hasNaN);
    if (state.task === 'regression') {
      for (let i = 0; i < n; i++) z[i] = (z[i] as number) * state.model.yScale + state.model.yMean;
    } else if (state.task === 'binary') {
      for (let i = 0; i < n; i++) {
        const t = z[i] as number;
        const e = Math.exp(-Math.abs(t));
        z[i] = t >= 0 ? 1 / (1 + e) : e / (1 + e);
      }
    } else softmaxRows(z, k);
    return z;
  },

  importance(state) {
    const d = state.numFeatures;
    const k = state.width;
    const values = new Array<number>(d).fill(0);
    for (let j = 0; j < d; j++) {
      if (k === 1) values[j] = (state.model.coef[j] as number) * (state.task === 'regression' ? state.model.yScale : 1);
      else {
        let s = 0;
        for (let c = 0; c < k; c++) s += (state.model.coef[c * d + j] as number) ** 2;
        values[j] = Math.sqrt(s);
      }
    }
    return { kind: 'standardized-coefficient', values };
  },
};

/** The history's loss: log loss, or mean squared error in the target's units. */
function trainingLoss(state: LinearModelState, objective: number): number {
  let penalty = 0;
  for (const c of state.model.coef) penalty += 0.5 * state.params.l2 * c * c;
  const data = objective - penalty;
  return state.task === 'regression' ? 2 * data * state.model.yScale * state.model.yScale : data;
}

export function softmaxRows(z: Float64Array, k: number): void {
  for (let o = 0; o < z.length; o += k) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) if ((z[o + c] as number) > max) max = z[o + c] as number;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp((z[o + c] as number) - max);
      z[o + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) z[o + c] = (z[o + c] as number) / sum;
  }
}

function checkWidth(state: { numFeatures: number }, X: FeatureMatrix): void {
  if (X.columns.length !== state.numFeatures) {
    throw new MlcycleError('DATA_INVALID', `the rows have ${X.columns.length} features; the model was trained on ${state.numFeatures}`);
  }
}

/** Loss of the current model on labelled rows (validation curves). */
export function linearLoss(state: LinearModelState, X: FeatureMatrix, y: Float64Array): number {
  return predictionLoss(state.task, y, linearModel.predict(state, X), state.width);
}
