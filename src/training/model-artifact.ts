/**
 * The saved model: one JSON document holding the fitted feature encoder and the trainer state, so a
 * serving process needs nothing else to turn raw rows into probabilities.
 */
import { z } from 'zod';
import { MlcycleError } from '../errors';
import { encodeFeatures, type EncoderState, type Row } from './features';
import { getTrainer, type TrainerName, type TrainerState } from './trainers';

export const MODEL_FORMAT = 'mlcycle-model/v1';

export interface ModelArtifact {
  format: typeof MODEL_FORMAT;
  trainer: TrainerName;
  encoder: EncoderState;
  state: TrainerState;
  featureNames: string[];
}

export function createModelArtifact(encoder: EncoderState, state: TrainerState): ModelArtifact {
  if (encoder.featureNames.length !== state.numFeatures) {
    throw new MlcycleError(
      'TRAINING_FAILED',
      `the encoder makes ${encoder.featureNames.length} features but the model was trained on ${state.numFeatures}`,
    );
  }
  return { format: MODEL_FORMAT, trainer: state.trainer, encoder, state, featureNames: [...encoder.featureNames] };
}

const ArtifactShape = z.object({
  format: z.literal(MODEL_FORMAT),
  trainer: z.enum(['logistic-regression', 'gradient-boosting']),
  encoder: z.object({
    format: z.literal('mlcycle-encoder/v1'),
    featureNames: z.array(z.string()),
    columns: z.array(z.object({ name: z.string(), kind: z.enum(['number', 'boolean', 'category']) }).loose()),
  }).loose(),
  state: z.object({
    trainer: z.enum(['logistic-regression', 'gradient-boosting']),
    numFeatures: z.number().int().positive(),
    model: z.object({}).loose(),
  }).loose(),
  featureNames: z.array(z.string()),
});

/** Checks that a parsed JSON document is a model artifact this version can use; ARTIFACT_INTEGRITY if not. */
export function parseModelArtifact(doc: unknown): ModelArtifact {
  const result = ArtifactShape.safeParse(doc);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new MlcycleError('ARTIFACT_INTEGRITY', `not an ${MODEL_FORMAT} model:\n${lines.join('\n')}`);
  }
  const a = result.data;
  if (a.state.trainer !== a.trainer) {
    throw new MlcycleError('ARTIFACT_INTEGRITY', `model says trainer ${a.trainer} but its state is from ${a.state.trainer}`);
  }
  if (a.featureNames.length !== a.state.numFeatures || a.encoder.featureNames.length !== a.state.numFeatures) {
    throw new MlcycleError('ARTIFACT_INTEGRITY', `model feature count mismatch: ${a.featureNames.length} names, state expects ${a.state.numFeatures}`);
  }
  return doc as ModelArtifact;
}

/** Probability of the positive class for each raw row (missing target column is fine). */
export function predict(model: ModelArtifact, rows: readonly Row[]): number[] {
  if (rows.length === 0) return [];
  return getTrainer(model.trainer).predictProba(model.state, encodeFeatures(model.encoder, rows));
}
