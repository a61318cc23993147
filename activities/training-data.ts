/**
 * The rows of a dataset version as the trainers and the evaluation take them: the task resolved,
 * the row encoder fitted on the training rows, and train / validation / test matrices. The
 * validation rows (early stopping, the decision threshold) are carved from the training split with
 * a seeded stratified draw, so the test rows stay untouched until evaluation.
 */
import { splitIndices } from '../src/data/split';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import type { LabeledMatrix, TaskType } from '../src/training/feature-matrix';
import { encodeFeatureRows, encodeTargetRows, fitRowEncoder, type Row, type RowMatrixEncoder } from '../src/training/row-matrix-adapter';
import { resolveTask } from '../src/training/target-task';
import type { DatasetRef } from '../workflows/pipeline-types';
import { loadSplitRows } from './dataset-loader';
import type { ActivityDeps } from './deps';

/** Share of the training split held out as validation rows (scikit-learn's validation_fraction). */
export const VALIDATION_FRACTION = 0.1;

export interface TrainingMatrices {
  task: TaskType;
  encoder: RowMatrixEncoder;
  fit: LabeledMatrix;
  validation: LabeledMatrix;
  test: LabeledMatrix;
  testRows: Row[];
  sizes: { train: number; validation: number; test: number };
}

export async function loadTrainingMatrices(
  deps: ActivityDeps,
  dataset: DatasetRef,
  data: PipelineSpec['data'],
  train: { task?: TaskType | undefined },
  scratch: string,
): Promise<TrainingMatrices> {
  const split = await loadSplitRows(deps, dataset, data, scratch);
  const rule = data.schema[data.target]!;
  const task = resolveTask(train.task, data.target, rule, split.train.map((r) => r[data.target]));
  const labels = split.train.map((r) => r[data.target]);
  const inner = splitIndices(split.train.length, { test: VALIDATION_FRACTION, seed: data.split.seed + 1, ...(task === 'regression' ? {} : { stratify: labels }) });
  const pick = <T>(all: T[], idx: Uint32Array) => Array.from(idx, (i) => all[i] as T);
  const fitRows = pick(split.train, inner.train);
  const valRows = pick(split.train, inner.test);
  const encoder = fitRowEncoder({ schema: data.schema, target: data.target, task, rows: fitRows });
  const matrix = (rows: Row[], numbers: number[]): LabeledMatrix => ({ X: encodeFeatureRows(encoder, rows), y: encodeTargetRows(encoder, rows, numbers) });
  return {
    task,
    encoder,
    fit: matrix(fitRows, pick(split.trainRowNumbers, inner.train)),
    validation: matrix(valRows, pick(split.trainRowNumbers, inner.test)),
    test: matrix(split.test, split.testRowNumbers),
    testRows: split.test,
    sizes: { train: fitRows.length, validation: valRows.length, test: split.test.length },
  };
}
