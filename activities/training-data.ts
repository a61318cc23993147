/**
 * The rows of a dataset version as the trainers take them: the snapshot loaded column-wise and
 * split three ways by the spec (loadSnapshotSplits), the task resolved and the encoder fitted on
 * the training rows, and train / validation matrices encoded straight from the typed columns.
 * The test rows are not encoded here: the final evaluation alone reads them.
 */
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { encodeSplit, fitColumnarEncoder } from '../src/training/columnar-encoder';
import type { LabeledMatrix, TaskType } from '../src/training/feature-matrix';
import type { RowMatrixEncoder } from '../src/training/row-matrix-adapter';
import type { DatasetRef } from '../workflows/pipeline-types';
import { loadSnapshotSplits, type LoadSplitsOptions, type SplitCounts } from './dataset-loader';
import type { ActivityDeps } from './deps';

export interface TrainingMatrices {
  task: TaskType;
  encoder: RowMatrixEncoder;
  fit: LabeledMatrix;
  /** The spec's validation rows (data.split.validation); undefined when it leaves none. */
  validation: LabeledMatrix | undefined;
  sizes: { train: number; validation: number; test: number };
  /** Rows (and classes) per split, and rows left out for a missing target. */
  split: SplitCounts;
  /** Seconds spent downloading and loading the snapshot, and encoding. */
  loadSeconds: number;
}

export async function loadTrainingMatrices(
  deps: ActivityDeps,
  dataset: DatasetRef,
  data: PipelineSpec['data'],
  train: { task?: TaskType | undefined },
  options: LoadSplitsOptions,
): Promise<TrainingMatrices> {
  const started = Date.now();
  const splits = await loadSnapshotSplits(deps, dataset, data, options);
  const rule = data.schema[data.target]!;
  const encoder = fitColumnarEncoder(splits.table, { schema: data.schema, target: data.target, task: train.task, trainRows: splits.train });
  const fit = encodeSplit(encoder, splits.table, rule, splits.train);
  options.signal?.throwIfAborted();
  const validation = splits.validation.length > 0 ? encodeSplit(encoder, splits.table, rule, splits.validation) : undefined;
  options.signal?.throwIfAborted();
  return {
    task: encoder.task,
    encoder,
    fit,
    validation,
    sizes: { train: splits.train.length, validation: splits.validation.length, test: splits.test.length },
    split: splits.counts,
    loadSeconds: (Date.now() - started) / 1000,
  };
}
