/**
 * The data a command trainer gets: the train / validation / test splits as Parquet files and a
 * JSON description of the features, target and task (read by the Python kit, python/mlcycle_trainer).
 *
 * MERGE POINT (data plane, issue 11): until the canonical Parquet snapshots and the three-way split
 * land, this module makes the splits itself from the same rows evaluation scores (loadSplitRows),
 * carving the validation rows out of the training rows. When the data plane provides snapshot split
 * paths, `writeTrainerData` is the one place to swap for them; the env contract stays.
 *
 * The test split carries no target column: mlcycle scores the held-out rows itself.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { splitIndices } from '../src/data/split';
import type { ColumnRule, PipelineSpec } from '../src/spec/pipeline-spec';
import type { TaskType } from '../src/training/feature-matrix';
import type { Row } from '../src/training/features';
import { loadSplitRows } from './dataset-loader';
import type { ActivityDeps } from './deps';
import type { DatasetRef } from '../workflows/pipeline-types';

/** Share of the training rows kept apart as validation rows (for early stopping, curves, tuning). */
export const VALIDATION_FRACTION = 0.1;

export interface TrainerFeature {
  name: string;
  type: 'number' | 'boolean' | 'category';
  values?: string[];
}

/** `MLCYCLE_SCHEMA_FILE`. */
export interface TrainerDataDescription {
  format: 'mlcycle-trainer-data/v1';
  task: TaskType;
  target: { name: string; type: ColumnRule['type']; positive?: string };
  features: TrainerFeature[];
  /** Multiclass: the class labels in index order. */
  classes?: string[];
  rows: { train: number; validation: number; test: number };
}

/** The columns a model is fed: every schema column but the target and free-text `string` columns. */
export function trainerFeatures(data: PipelineSpec['data']): TrainerFeature[] {
  const out: TrainerFeature[] = [];
  for (const [name, rule] of Object.entries(data.schema)) {
    if (name === data.target || rule.type === 'string') continue;
    out.push(rule.type === 'category' ? { name, type: 'category', values: [...rule.values] } : { name, type: rule.type });
  }
  return out;
}

export function describeTrainerData(data: PipelineSpec['data'], task: TaskType, rows: TrainerDataDescription['rows']): TrainerDataDescription {
  const rule = data.schema[data.target]!;
  const target: TrainerDataDescription['target'] = { name: data.target, type: rule.type };
  // Same positive class as the built-in encoder: the last value a category target lists.
  if (rule.type === 'category' && task === 'binary') target.positive = rule.values[rule.values.length - 1];
  return {
    format: 'mlcycle-trainer-data/v1',
    task,
    target,
    features: trainerFeatures(data),
    ...(task === 'multiclass' && rule.type === 'category' ? { classes: [...rule.values] } : {}),
    rows,
  };
}

function parquetOf(rows: readonly Row[], data: PipelineSpec['data'], withTarget: boolean): Uint8Array {
  const columnData = Object.entries(data.schema)
    .filter(([name]) => withTarget || name !== data.target)
    .map(([name, rule]) => {
      const values = rows.map((r) => {
        const v = r[name];
        return v === undefined ? null : v;
      });
      if (rule.type === 'number') return { name, data: values, type: 'DOUBLE' as const, nullable: true };
      if (rule.type === 'boolean') return { name, data: values, type: 'BOOLEAN' as const, nullable: true };
      return { name, data: values.map((v) => (v === null ? null : String(v))), type: 'STRING' as const, nullable: true };
    });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

/** Writes the splits and the description into `dir`; returns the env vars for the trainer. */
export async function writeTrainerData(
  deps: ActivityDeps,
  dataset: DatasetRef,
  data: PipelineSpec['data'],
  task: TaskType,
  dir: string,
): Promise<Record<string, string>> {
  await fs.mkdir(dir, { recursive: true });
  const { train, test, localPath } = await loadSplitRows(deps, dataset, data, dir);
  const inner = splitIndices(train.length, {
    test: VALIDATION_FRACTION,
    seed: data.split.seed,
    ...(task === 'regression' ? {} : { stratify: train.map((r) => r[data.target]) }),
  });
  const fit = Array.from(inner.train, (i) => train[i]!);
  const validation = Array.from(inner.test, (i) => train[i]!);
  const files = {
    MLCYCLE_TRAIN_FILE: path.join(dir, 'train.parquet'),
    MLCYCLE_VALIDATION_FILE: path.join(dir, 'validation.parquet'),
    MLCYCLE_TEST_FILE: path.join(dir, 'test.parquet'),
    MLCYCLE_SCHEMA_FILE: path.join(dir, 'schema.json'),
  };
  await fs.writeFile(files.MLCYCLE_TRAIN_FILE, parquetOf(fit, data, true));
  await fs.writeFile(files.MLCYCLE_VALIDATION_FILE, parquetOf(validation, data, true));
  await fs.writeFile(files.MLCYCLE_TEST_FILE, parquetOf(test, data, false));
  const description = describeTrainerData(data, task, { train: fit.length, validation: validation.length, test: test.length });
  await fs.writeFile(files.MLCYCLE_SCHEMA_FILE, `${JSON.stringify(description, null, 2)}\n`);
  return { ...files, MLCYCLE_TASK: task, MLCYCLE_DATA_FILE: localPath };
}

/** Written by mlcycle (not the trainer) into the uploaded output folder: what serving validates requests against. */
export const SERVING_FILE = 'mlcycle-serving.json';

export async function writeServingDescription(outputDir: string, data: PipelineSpec['data'], task: TaskType): Promise<void> {
  const description = describeTrainerData(data, task, { train: 0, validation: 0, test: 0 });
  const { rows: _rows, format: _format, ...rest } = description;
  await fs.writeFile(path.join(outputDir, SERVING_FILE), `${JSON.stringify({ format: 'mlcycle-serving/v1', ...rest }, null, 2)}\n`);
}
