/**
 * The contract every built-in trainer keeps, whatever its algorithm and task.
 *
 * A trainer is pure functions over a JSON-serializable state: `init` builds step 0, `step` does one
 * unit of work (an optimizer iteration, a boosting round) and returns a new state, `predict` scores
 * a FeatureMatrix. The state holds everything the next step depends on (weights or trees, the
 * optimizer's memory, the random generator's state, the resolved params, the loss history), so a
 * checkpoint is the state and a run resumed from it is bit-for-bit the run that was never
 * interrupted (JSON keeps every finite double exactly). Work buffers (scores, gradients, bins)
 * are derived from the state and the data and live in caches keyed by the data's arrays.
 *
 * Outputs of `predict`, by task: binary → P(class 1) per row; multiclass → row-major n×k class
 * probabilities; regression → the predicted value per row.
 */
import { z } from 'zod';
import type { BUILTIN_TRAINERS } from '../spec/pipeline-spec';
import type { EncodedTarget, FeatureMatrix, LabeledMatrix, TaskType } from './feature-matrix';

/** The built-in trainers' names, as the spec's `train.trainer` spells them. */
export type BuiltinTrainerName = (typeof BUILTIN_TRAINERS)[number];

/** `train.params` as the spec holds them, before a trainer validates them. */
export type RawParams = Readonly<Record<string, number | string | boolean>>;

// JSON writes a NaN loss (a diverged step) as null; reading it back gives NaN again.
const storedNumber = z.union([z.number(), z.null().transform(() => Number.NaN)]);

/** One step of a training history, as stored with the model (`historyUri`). */
export const EpochMetricsSchema = z.object({
  /** 1-based number of the step just finished (iteration or boosting round). */
  epoch: z.number(),
  /** Training loss after this step (log loss for classification, mean squared error for regression). */
  loss: storedNumber,
  valLoss: storedNumber.optional(),
  valAuc: storedNumber.optional(),
});
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

/** What a trainer sees of the data: the training rows, their weights, the validation rows. */
export interface FitData {
  train: LabeledMatrix;
  /** Per training row (class weights); absent = all 1. */
  sampleWeight?: Float64Array;
  /** Held-out rows of the training split: early stopping and the per-step validation loss. */
  validation?: LabeledMatrix;
}

/** Fields every trainer state has. */
export interface EngineStateBase<N extends BuiltinTrainerName, P> {
  trainer: N;
  task: TaskType;
  /** The params with every default resolved: what lineage records. */
  params: P;
  seed: number;
  /** Steps completed. */
  epoch: number;
  /** The most steps this run may take. */
  totalEpochs: number;
  /** Set when training ends before totalEpochs (converged, early-stopped). */
  done: boolean;
  /** Why it stopped, once it has: converged, early-stopping, max-iterations, no-split. */
  stopReason?: string;
  numFeatures: number;
  /** Class labels (classification), in target index order. */
  classes?: string[];
  history: EpochMetrics[];
}

export interface ModelTrainer<N extends BuiltinTrainerName, P, S extends EngineStateBase<N, P>> {
  readonly name: N;
  /** Validates `train.params` and resolves every default for this task and data; throws SPEC_INVALID naming the bad param. */
  parseParams(raw: RawParams, info: { task: TaskType; rows: number }): P;
  init(data: FitData, params: P, seed: number): S;
  step(state: S, data: FitData): S;
  predict(state: S, X: FeatureMatrix): Float64Array;
  /** One number per feature: gain (trees) or standardized coefficient (linear). */
  importance(state: S): { kind: 'gain' | 'standardized-coefficient'; values: number[] };
}

/** Number of classes of a classification target (binary: 2), 1 for regression. */
export function classCount(y: EncodedTarget): number {
  if (y.task === 'regression') return 1;
  if (y.task === 'binary') return 2;
  if (y.classes && y.classes.length > 0) return y.classes.length;
  let max = 0;
  for (let i = 0; i < y.values.length; i++) if ((y.values[i] as number) > max) max = y.values[i] as number;
  return max + 1;
}

/** Outputs per row of `predict`: k for multiclass, else 1. */
export function outputWidth(task: TaskType, numClasses: number): number {
  return task === 'multiclass' ? numClasses : 1;
}

const EPS = 1e-15;

/**
 * The training loss of predictions (as `predict` returns them): mean log loss for classification
 * (probabilities clipped to [1e-15, 1-1e-15]), mean squared error for regression. Weighted when
 * weights are given.
 */
export function predictionLoss(task: TaskType, y: Float64Array, pred: Float64Array, numClasses: number, weight?: Float64Array): number {
  const n = y.length;
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = weight ? (weight[i] as number) : 1;
    let l: number;
    if (task === 'regression') {
      const r = (pred[i] as number) - (y[i] as number);
      l = r * r;
    } else if (task === 'binary') {
      const p = Math.min(Math.max(pred[i] as number, EPS), 1 - EPS);
      l = y[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
    } else {
      const p = Math.min(Math.max(pred[i * numClasses + (y[i] as number)] as number, EPS), 1 - EPS);
      l = -Math.log(p);
    }
    sum += w * l;
    wsum += w;
  }
  return wsum === 0 ? Number.NaN : sum / wsum;
}

/** A small seeded generator whose whole state is one 32-bit integer (mulberry32), so it checkpoints as a number. */
export function nextRandom(state: { rng: number }): number {
  let t = (state.rng = (state.rng + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function seedState(seed: number): number {
  return Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) | 0;
}
