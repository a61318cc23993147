/**
 * The built-in trainers by name: `logistic-regression` is the L-BFGS linear model (linear-model.ts:
 * logistic, softmax or least squares by task) and `gradient-boosting` the histogram gradient
 * boosting (hist-gradient-boosting.ts). Each keeps the contract of trainer-contract.ts; this
 * registry gives them one non-generic face for the loop (training-loop.ts), the model artifact
 * and the activities.
 */
import { MlcycleError } from '../errors';
import type { FeatureMatrix, LabeledMatrix } from './feature-matrix';
import { histGradientBoosting, HistGradientBoostingParamsSchema, type HistGradientBoostingState } from './hist-gradient-boosting';
import { rowsToMatrix } from './labeled-data';
import { linearModel, LinearModelParamsSchema, type LinearModelState } from './linear-model';
import type { BuiltinTrainerName, ModelTrainer, RawParams } from './trainer-contract';

export type TrainerName = BuiltinTrainerName;
export type TrainerState = LinearModelState | HistGradientBoostingState;

/** Params schemas by trainer (the keys a tuning space may set). */
export const LogisticRegressionParamsSchema = LinearModelParamsSchema;
export const GradientBoostingParamsSchema = HistGradientBoostingParamsSchema;

/**
 * A trainer with its own params and state types erased, so both fit one registry. Sound because
 * a trainer only ever gets states it made: `checkState` guards prediction and the loop's
 * `checkResumable` guards a resumed checkpoint.
 */
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

// The casts erase the trainers' own types (see AnyTrainer).
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
