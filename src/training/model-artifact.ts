/**
 * The saved model: one JSON document holding the fitted row encoder, the trainer state, the task
 * with its class labels and the binary decision threshold, so a serving process needs nothing else
 * to turn raw rows into answers.
 */
import { z } from 'zod';
import { MlcycleError } from '../errors';
import type { TaskType } from './feature-matrix';
import { encodeFeatureRows, type Row, type RowMatrixEncoder } from './row-matrix-adapter';
import { argmaxRows } from './task-metrics';
import { getTrainer, type TrainerName, type TrainerState } from './trainers';

export const MODEL_FORMAT = 'mlcycle-model/v2';

export interface DecisionThreshold {
  /** Rows with P(positive class) ≥ value are labelled positive. */
  value: number;
  /** How it was chosen: fixed, or optimized for a metric on the validation rows. */
  source: 'default' | 'fixed' | 'optimized';
  objective?: 'f1' | 'balanced_accuracy' | 'youden';
  /** The objective's value on the validation rows at this threshold. */
  validationValue?: number;
}

export interface ModelArtifact {
  format: typeof MODEL_FORMAT;
  trainer: TrainerName;
  task: TaskType;
  /** Classification: labels in class-index order (binary: [negative, positive]). */
  classes?: string[];
  encoder: RowMatrixEncoder;
  state: TrainerState;
  featureNames: string[];
  /** Binary only. */
  threshold?: DecisionThreshold;
  /** Per-class training weights, when train.classWeight was set. */
  classWeight?: Record<string, number>;
  /** The spec's `serve` section: how a prediction server treats this model unless told otherwise. */
  serve?: { outOfRange: OutOfRangeRule };
}

/** What /predict does with numeric inputs far outside the training data (see src/serving/request-checks.ts). */
export type OutOfRangeRule = 'refuse' | 'clip' | 'allow';

export function createModelArtifact(encoder: RowMatrixEncoder, state: TrainerState, extra: { threshold?: DecisionThreshold; classWeight?: Record<string, number>; serve?: ModelArtifact['serve'] } = {}): ModelArtifact {
  if (encoder.featureNames.length !== state.numFeatures) {
    throw new MlcycleError('TRAINING_FAILED', `the encoder makes ${encoder.featureNames.length} features but the model was trained on ${state.numFeatures}`);
  }
  return {
    format: MODEL_FORMAT,
    trainer: state.trainer,
    task: state.task,
    ...(encoder.target.classes ? { classes: [...encoder.target.classes] } : {}),
    encoder,
    state,
    featureNames: [...encoder.featureNames],
    ...(state.task === 'binary' ? { threshold: extra.threshold ?? { value: 0.5, source: 'default' } } : {}),
    ...(extra.classWeight ? { classWeight: extra.classWeight } : {}),
    ...(extra.serve ? { serve: { outOfRange: extra.serve.outOfRange } } : {}),
  };
}

const ArtifactShape = z.object({
  format: z.literal(MODEL_FORMAT),
  trainer: z.enum(['logistic-regression', 'gradient-boosting']),
  task: z.enum(['binary', 'multiclass', 'regression']),
  classes: z.array(z.string()).optional(),
  encoder: z
    .object({
      format: z.literal('mlcycle-row-matrix/v1'),
      featureNames: z.array(z.string()),
      columns: z.array(z.object({ name: z.string(), kind: z.enum(['number', 'boolean', 'category']) }).loose()),
    })
    .loose(),
  state: z
    .object({
      trainer: z.enum(['logistic-regression', 'gradient-boosting']),
      task: z.enum(['binary', 'multiclass', 'regression']),
      numFeatures: z.number().int().positive(),
      model: z.object({}).loose(),
    })
    .loose(),
  featureNames: z.array(z.string()),
  threshold: z.object({ value: z.number().gt(0).lt(1), source: z.enum(['default', 'fixed', 'optimized']) }).loose().optional(),
  serve: z.object({ outOfRange: z.enum(['refuse', 'clip', 'allow']) }).loose().optional(),
});

/** Checks that a parsed JSON document is a model artifact this version can use; ARTIFACT_INTEGRITY if not. */
export function parseModelArtifact(doc: unknown): ModelArtifact {
  const result = ArtifactShape.safeParse(doc);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new MlcycleError('ARTIFACT_INTEGRITY', `not an ${MODEL_FORMAT} model:\n${lines.join('\n')}`);
  }
  const a = result.data;
  if (a.state.trainer !== a.trainer) throw new MlcycleError('ARTIFACT_INTEGRITY', `model says trainer ${a.trainer} but its state is from ${a.state.trainer}`);
  if (a.state.task !== a.task) throw new MlcycleError('ARTIFACT_INTEGRITY', `model says task ${a.task} but its state is ${a.state.task}`);
  if (a.featureNames.length !== a.state.numFeatures || a.encoder.featureNames.length !== a.state.numFeatures) {
    throw new MlcycleError('ARTIFACT_INTEGRITY', `model feature count mismatch: ${a.featureNames.length} names, state expects ${a.state.numFeatures}`);
  }
  if (a.task !== 'regression' && (a.classes?.length ?? 0) < 2) throw new MlcycleError('ARTIFACT_INTEGRITY', `a ${a.task} model needs its class labels`);
  return doc as ModelArtifact;
}

/**
 * The model's raw output for raw rows (the target column may be absent): binary P(positive) per
 * row, multiclass row-major n×k probabilities, regression the value.
 */
export function predictOutput(model: ModelArtifact, rows: readonly Row[]): Float64Array {
  if (rows.length === 0) return new Float64Array(0);
  return getTrainer(model.trainer).predict(model.state, encodeFeatureRows(model.encoder, rows));
}

/** One number per row: binary P(positive), multiclass P(predicted class), regression the value. */
export function predict(model: ModelArtifact, rows: readonly Row[]): number[] {
  return rowScores(model, predictOutput(model, rows), rows.length);
}

/** One score per row from the model's raw output (see `predict`). */
export function rowScores(model: ModelArtifact, out: Float64Array, n: number): number[] {
  if (model.task !== 'multiclass') return Array.from(out);
  const k = model.classes?.length ?? 0;
  const best = argmaxRows(out, n, k);
  return Array.from(best, (c, i) => out[i * k + c] as number);
}

export type RowPrediction =
  /** binary: P(positive), label = P ≥ threshold, class = that class's label */
  | { probability: number; label: boolean; class: string; probabilities: Record<string, number> }
  /** multiclass: the most probable class and every class's probability */
  | { probability: number; label: string; class: string; probabilities: Record<string, number> }
  | { value: number };

/** Answers per task, threshold applied (binary), plus the per-row score (`predict`). */
export function predictRows(model: ModelArtifact, rows: readonly Row[]): { scores: number[]; predictions: RowPrediction[] } {
  const out = predictOutput(model, rows);
  const n = rows.length;
  const scores = rowScores(model, out, n);
  if (model.task === 'regression') return { scores, predictions: scores.map((value) => ({ value })) };
  const classes = model.classes as string[];
  if (model.task === 'binary') {
    const t = model.threshold?.value ?? 0.5;
    const [neg, pos] = classes as [string, string];
    return {
      scores,
      predictions: scores.map((p) => ({ probability: p, label: p >= t, class: p >= t ? pos : neg, probabilities: { [neg]: 1 - p, [pos]: p } })),
    };
  }
  const k = classes.length;
  const best = argmaxRows(out, n, k);
  const predictions: RowPrediction[] = [];
  for (let i = 0; i < n; i++) {
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < k; c++) probabilities[classes[c] as string] = out[i * k + c] as number;
    const cls = classes[best[i] as number] as string;
    predictions.push({ probability: out[i * k + (best[i] as number)] as number, label: cls, class: cls, probabilities });
  }
  return { scores, predictions };
}
