/**
 * The built-in trainers and the resumable training loop.
 *
 * `logistic-regression` is the L-BFGS linear model (linear-model.ts: logistic, softmax or least
 * squares by task) and `gradient-boosting` the histogram gradient boosting (hist-gradient-
 * boosting.ts); both keep the contract of trainer-contract.ts and take FeatureMatrix/EncodedTarget.
 *
 * `runTraining` drives a trainer step by step (an L-BFGS iteration, a boosting round: an "epoch"
 * in progress and checkpoints), reports progress, hands out a checkpoint every `checkpointEvery`
 * steps and yields to the event loop between steps, so the activity that runs it can heartbeat
 * and notice cancellation. A run resumed from a checkpoint is bit-for-bit the uninterrupted run.
 * It stops at the step cap or earlier when the trainer says it is done (converged, early-stopped).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { MlcycleError } from '../errors';
import type { BUILTIN_TRAINERS } from '../spec/pipeline-spec';
import type { FeatureMatrix, LabeledMatrix } from './feature-matrix';
import { histGradientBoosting, HistGradientBoostingParamsSchema, type HistGradientBoostingState } from './hist-gradient-boosting';
import { linearModel, LinearModelParamsSchema, type LinearModelState } from './linear-model';
import { auc } from './metrics';
import { outputWidth, predictionLoss, type EpochMetrics, type FitData, type ModelTrainer, type RawParams } from './trainer-contract';

export type { EpochMetrics, RawParams };
export type TrainerName = (typeof BUILTIN_TRAINERS)[number];
export type TrainerState = LinearModelState | HistGradientBoostingState;

/** Params schemas by trainer (the keys a tuning space may set). */
export const LogisticRegressionParamsSchema = LinearModelParamsSchema;
export const GradientBoostingParamsSchema = HistGradientBoostingParamsSchema;

/** Row-major rows and 0/1 labels: the older binary hand-over, still accepted (converted to a matrix). */
export interface TrainingData {
  X: number[][];
  y: number[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTrainer = ModelTrainer<TrainerName, any, TrainerState>;

export interface Trainer {
  readonly name: TrainerName;
  parseParams(params: RawParams, info?: { task: LabeledMatrix['y']['task']; rows: number }): unknown;
  /** Per-task output of `predict` (trainer-contract.ts) for a FeatureMatrix. */
  predict(state: TrainerState, X: FeatureMatrix): Float64Array;
  /** Binary: P(class 1) per row of row-major features. */
  predictProba(state: TrainerState, X: readonly (readonly number[])[]): number[];
  importance(state: TrainerState): { kind: 'gain' | 'standardized-coefficient'; values: number[] };
  engine: AnyTrainer;
}

function wrap(engine: AnyTrainer): Trainer {
  return {
    name: engine.name,
    parseParams: (params, info) => engine.parseParams(params, info ?? { task: 'binary', rows: 1 }),
    predict: (state, X) => {
      checkState(state, engine.name);
      return engine.predict(state, X);
    },
    predictProba: (state, X) => {
      checkState(state, engine.name);
      return Array.from(engine.predict(state, rowsToMatrix(X, state.numFeatures)));
    },
    importance: (state) => engine.importance(state),
    engine,
  };
}

export const logisticRegression: Trainer = wrap(linearModel);
export const gradientBoosting: Trainer = wrap(histGradientBoosting);

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

function checkState(state: TrainerState, name: TrainerName): void {
  if (state.trainer !== name) throw new MlcycleError('TRAINING_FAILED', `a ${state.trainer} state was given to the ${name} trainer`);
}

/** Row-major rows → FeatureMatrix (checks the width). */
export function rowsToMatrix(X: readonly (readonly number[])[], width?: number): FeatureMatrix {
  const d = width ?? (X[0]?.length ?? 0);
  const columns = Array.from({ length: d }, () => new Float64Array(X.length));
  for (let i = 0; i < X.length; i++) {
    const row = X[i] as readonly number[];
    if (row.length !== d) throw new MlcycleError('DATA_INVALID', `row ${i + 1} has ${row.length} features; expected ${d}`);
    for (let j = 0; j < d; j++) (columns[j] as Float64Array)[i] = row[j] as number;
  }
  return { rows: X.length, featureNames: Array.from({ length: d }, (_, j) => `x${j}`), columns };
}

const legacyCache = new WeakMap<TrainingData, LabeledMatrix>();

/** The older binary hand-over as a LabeledMatrix (0/1 labels checked). */
export function toLabeledMatrix(data: LabeledMatrix | TrainingData, what = 'training data'): LabeledMatrix {
  if (!Array.isArray((data as TrainingData).X)) return data as LabeledMatrix;
  const legacy = data as TrainingData;
  const hit = legacyCache.get(legacy);
  if (hit) return hit;
  if (legacy.X.length !== legacy.y.length) throw new MlcycleError('DATA_INVALID', `${what} has ${legacy.X.length} rows but ${legacy.y.length} labels`);
  legacy.y.forEach((v, i) => {
    if (v !== 0 && v !== 1) throw new MlcycleError('DATA_INVALID', `${what} label ${i + 1} is ${String(v)}, expected 0 or 1`);
  });
  const m: LabeledMatrix = { X: rowsToMatrix(legacy.X), y: { task: 'binary', values: Float64Array.from(legacy.y), classes: ['0', '1'] } };
  legacyCache.set(legacy, m);
  return m;
}

/** Throws DATA_INVALID unless the matrix is non-empty, rectangular, and the target fits its task. */
export function validateTrainingData(data: LabeledMatrix, what = 'training data'): void {
  const { X, y } = data;
  if (X.rows === 0) throw new MlcycleError('DATA_INVALID', `${what} has no rows`);
  if (X.columns.length === 0) throw new MlcycleError('DATA_INVALID', `${what} has no features`);
  X.columns.forEach((c, j) => {
    if (c.length !== X.rows) throw new MlcycleError('DATA_INVALID', `${what} feature ${X.featureNames[j] ?? j + 1} has ${c.length} values for ${X.rows} rows`);
  });
  if (y.values.length !== X.rows) throw new MlcycleError('DATA_INVALID', `${what} has ${X.rows} rows but ${y.values.length} target values`);
  for (let i = 0; i < y.values.length; i++) {
    if (!Number.isFinite(y.values[i])) throw new MlcycleError('DATA_INVALID', `${what} target value ${i + 1} is not a finite number`);
  }
  if (what === 'training data' && y.task !== 'regression') {
    const seen = new Set(y.values);
    if (seen.size < 2) throw new MlcycleError('DATA_INVALID', `${what} has only one class (${y.classes?.[[...seen][0] ?? 0] ?? [...seen][0]}); a classifier needs at least two`);
  }
}

// ---------------------------------------------------------------------------------------------
// The training loop

export interface Checkpoint {
  format: 'mlcycle-checkpoint/v2';
  trainer: TrainerName;
  /** Steps completed. */
  epoch: number;
  totalEpochs: number;
  seed: number;
  /** Fingerprint of the training data and weights; resuming on different data is refused. */
  dataFingerprint: string;
  state: TrainerState;
}

export interface RunTrainingOptions {
  trainer: TrainerName | Trainer;
  data: LabeledMatrix | TrainingData;
  /** Held-out rows of the training split: early stopping, validation loss per step. */
  validation?: LabeledMatrix | TrainingData;
  /** Per training row (class weights). */
  sampleWeight?: Float64Array;
  params: RawParams;
  seed: number;
  resumeFrom?: Checkpoint;
  /** Hand out a checkpoint after every this many steps (counted from 0, so resuming keeps the cadence). */
  checkpointEvery: number;
  onEpoch?: (epoch: number, total: number, metrics: EpochMetrics) => void | Promise<void>;
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainingResult {
  state: TrainerState;
  history: EpochMetrics[];
  /** 0 for a fresh run, else the step of the checkpoint it resumed from. */
  resumedFromEpoch: number;
}

/** A cheap 64-bit FNV-1a-style fingerprint of the shape and every value of X, y and the weights. */
export function fingerprintData(data: LabeledMatrix | TrainingData, sampleWeight?: Float64Array): string {
  const m = toLabeledMatrix(data);
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
  for (const col of m.X.columns) {
    mix(col.length);
    for (let i = 0; i < col.length; i++) mix(col[i] as number);
  }
  for (let i = 0; i < m.y.values.length; i++) mix(m.y.values[i] as number);
  if (sampleWeight) for (let i = 0; i < sampleWeight.length; i++) mix(sampleWeight[i] as number);
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `${m.y.task}:${m.X.rows}x${m.X.columns.length}:${hex(h1)}${hex(h2)}`;
}

function makeCheckpoint(state: TrainerState, dataFingerprint: string): Checkpoint {
  return { format: 'mlcycle-checkpoint/v2', trainer: state.trainer, epoch: state.epoch, totalEpochs: state.totalEpochs, seed: state.seed, dataFingerprint, state };
}

function checkResumable(cp: Checkpoint, trainer: Trainer, params: unknown, seed: number, fingerprint: string): void {
  const refuse = (why: string): never => {
    throw new MlcycleError('TRAINING_FAILED', `cannot resume from the epoch-${String(cp.epoch)} checkpoint: ${why}`);
  };
  if (cp.format !== 'mlcycle-checkpoint/v2') refuse(`unknown checkpoint format ${JSON.stringify(cp.format)}`);
  if (cp.state.trainer !== trainer.name) refuse(`it was made by trainer ${cp.state.trainer}, this run uses ${trainer.name}`);
  if (cp.state.seed !== seed) refuse(`it was made with seed ${cp.state.seed}, this run uses ${seed}`);
  // Early stopping resolves against the validation rows at init; compare what the spec controls.
  const comparable = (p: unknown) => JSON.stringify({ ...(p as object), earlyStopping: undefined });
  if (comparable(cp.state.params) !== comparable(params)) {
    refuse(`it was made with params ${JSON.stringify(cp.state.params)}, this run has ${JSON.stringify(params)}`);
  }
  if (cp.dataFingerprint !== fingerprint) refuse(`the training data differ (fingerprint ${cp.dataFingerprint}, now ${fingerprint})`);
}

/**
 * Trains step by step from scratch or from `resumeFrom`. Resuming gives bit-identical results to
 * an uninterrupted run with the same seed, params and data.
 */
export async function runTraining(options: RunTrainingOptions): Promise<TrainingResult> {
  const trainer = typeof options.trainer === 'string' ? getTrainer(options.trainer) : options.trainer;
  const { seed, signal, sampleWeight } = options;
  const every = options.checkpointEvery;
  if (!Number.isInteger(every) || every < 1) throw new MlcycleError('SPEC_INVALID', `train.checkpointEvery: must be a positive integer, got ${every}`);
  signal?.throwIfAborted();

  const train = toLabeledMatrix(options.data);
  const validation = options.validation ? toLabeledMatrix(options.validation, 'validation data') : undefined;
  validateTrainingData(train);
  if (validation) validateTrainingData(validation, 'validation data');
  if (sampleWeight && sampleWeight.length !== train.X.rows) throw new MlcycleError('DATA_INVALID', `${sampleWeight.length} sample weights for ${train.X.rows} training rows`);
  const engine = trainer.engine;
  const params = engine.parseParams(options.params, { task: train.y.task, rows: train.X.rows });
  const fingerprint = fingerprintData(train, sampleWeight);
  const data: FitData = { train, ...(validation ? { validation } : {}), ...(sampleWeight ? { sampleWeight } : {}) };

  let state: TrainerState;
  if (options.resumeFrom !== undefined) {
    checkResumable(options.resumeFrom, trainer, params, seed, fingerprint);
    state = structuredClone(options.resumeFrom.state);
  } else {
    state = engine.init(data, params, seed);
  }
  const resumedFromEpoch = state.epoch;
  const total = state.totalEpochs;
  const width = outputWidth(train.y.task, state.classes?.length ?? 2);

  while (!state.done && state.epoch < total) {
    signal?.throwIfAborted();
    state = engine.step(state, data);
    let last = state.history[state.history.length - 1] as EpochMetrics;
    if (validation && last.valLoss === undefined) {
      // The linear model leaves validation scoring to the loop (cheap: one pass over the rows).
      const pred = engine.predict(state, validation.X);
      last = { ...last, valLoss: predictionLoss(state.task, validation.y.values, pred, width) };
      if (state.task === 'binary') {
        const a = auc(validation.y.values, pred);
        if (!Number.isNaN(a)) last.valAuc = a;
      }
      state = { ...state, history: [...state.history.slice(0, -1), last] };
    }
    await options.onEpoch?.(state.epoch, total, last);
    if (state.epoch % every === 0 || state.done) await options.onCheckpoint?.(makeCheckpoint(state, fingerprint));
    await yieldToEventLoop();
  }
  return { state, history: state.history, resumedFromEpoch };
}

/** Per-class sample weights: `balanced` = n / (k · n_c) as scikit-learn, or explicit by class label (others 1). */
export function classWeights(y: LabeledMatrix['y'], spec: 'balanced' | Readonly<Record<string, number>>): { weights: Float64Array; perClass: Record<string, number> } {
  const classes = y.classes ?? [];
  const k = classes.length;
  const counts = new Float64Array(k);
  for (let i = 0; i < y.values.length; i++) counts[y.values[i] as number] = (counts[y.values[i] as number] as number) + 1;
  const perClass: Record<string, number> = {};
  if (spec === 'balanced') {
    classes.forEach((c, j) => (perClass[c] = (counts[j] as number) > 0 ? y.values.length / (k * (counts[j] as number)) : 0));
  } else {
    for (const label of Object.keys(spec)) {
      if (!classes.includes(label)) throw new MlcycleError('SPEC_INVALID', `train.classWeight.${label}: no such class; the classes are ${classes.join(', ')}`);
    }
    classes.forEach((c) => (perClass[c] = spec[c] ?? 1));
  }
  const weights = new Float64Array(y.values.length);
  for (let i = 0; i < weights.length; i++) weights[i] = perClass[classes[y.values[i] as number] as string] as number;
  return { weights, perClass };
}
