/**
 * The data a command trainer gets: the train / validation / test splits as Parquet files and a
 * JSON description of the features, target and task (read by the Python kit, python/mlcycle_trainer).
 *
 * The rows are the data plane's: the snapshot loaded column-wise and split three ways by the spec
 * (loadSnapshotSplits), the same train / validation / test rows the built-in trainers and the
 * evaluation use. Each split is written to its own Parquet file here (the trainer-facing file
 * layout, one file per split with the schema's types).
 *
 * The test split carries no target column: mlcycle scores the held-out rows itself.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { tableRows, type LoadedTable } from '../src/data/columnar-load';
import type { ColumnRule, PipelineSpec } from '../src/spec/pipeline-spec';
import { resolveTaskFromColumns } from '../src/training/columnar-encoder';
import type { TaskType } from '../src/training/feature-matrix';
import { numberMoments, type Row } from '../src/training/row-matrix-adapter';
import { loadSnapshotSplits } from './dataset-loader';
import type { ActivityDeps } from './deps';
import type { DatasetRef } from '../workflows/pipeline-types';

export interface TrainerFeature {
  name: string;
  type: 'number' | 'boolean' | 'category';
  values?: string[];
}

/** A number feature's training statistics (present values of the train split), as a built-in encoder keeps them. */
export interface FeatureStats {
  mean: number;
  std: number;
}

/**
 * Mean and (population) standard deviation of each number feature over the training rows, as a
 * built-in model's encoder keeps them (numberMoments): what serving's out-of-range rule measures
 * requests against for an ONNX model. Read from the loaded columns (missing values are NaN and
 * skipped); a column with no present value has none.
 */
export function numberFeatureStats(table: LoadedTable, trainRows: Uint32Array, features: readonly TrainerFeature[]): Record<string, FeatureStats> {
  const loaded = new Map(table.columns.map((c) => [c.name, c.values]));
  const out: Record<string, FeatureStats> = {};
  for (const f of features) {
    const values = loaded.get(f.name);
    if (f.type !== 'number' || !values) continue;
    const { n, mean, std } = numberMoments(function* () {
      for (let k = 0; k < trainRows.length; k++) yield values[trainRows[k]!]!;
    }());
    if (n > 0) out[f.name] = { mean, std };
  }
  return out;
}

/** `MLCYCLE_SCHEMA_FILE`. */
export interface TrainerDataDescription {
  format: 'mlcycle-trainer-data/v1';
  task: TaskType;
  target: { name: string; type: ColumnRule['type']; positive?: string; negative?: string };
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
  if (rule.type === 'category' && task === 'binary') {
    target.positive = rule.values[rule.values.length - 1];
    target.negative = rule.values[0];
  }
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
    // Free-text `string` columns are not features (and not loaded); MLCYCLE_DATA_FILE has them.
    .filter(([name, rule]) => (withTarget || name !== data.target) && (rule.type !== 'string' || name === data.target))
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

/**
 * Writes the splits and the description into `dir`; returns the env vars for the trainer and the
 * task (train.task, else resolved from the training rows as for the built-in trainers).
 */
export async function writeTrainerData(
  deps: ActivityDeps,
  dataset: DatasetRef,
  data: PipelineSpec['data'],
  declared: TaskType | undefined,
  dir: string,
  signal?: AbortSignal,
): Promise<{ env: Record<string, string>; task: TaskType; featureStats: Record<string, FeatureStats> }> {
  await fs.mkdir(dir, { recursive: true });
  const splits = await loadSnapshotSplits(deps, dataset, data, { scratch: dir, ...(signal ? { signal } : {}) });
  const rule = data.schema[data.target]!;
  const task = resolveTaskFromColumns(declared, splits.table, data.target, rule, splits.train);
  const target = { name: data.target, rule };
  const files = {
    MLCYCLE_TRAIN_FILE: path.join(dir, 'train.parquet'),
    MLCYCLE_VALIDATION_FILE: path.join(dir, 'validation.parquet'),
    MLCYCLE_TEST_FILE: path.join(dir, 'test.parquet'),
    MLCYCLE_SCHEMA_FILE: path.join(dir, 'schema.json'),
  };
  await fs.writeFile(files.MLCYCLE_TRAIN_FILE, parquetOf(tableRows(splits.table, splits.train, target), data, true));
  await fs.writeFile(files.MLCYCLE_VALIDATION_FILE, parquetOf(tableRows(splits.table, splits.validation, target), data, true));
  await fs.writeFile(files.MLCYCLE_TEST_FILE, parquetOf(tableRows(splits.table, splits.test), data, false));
  const description = describeTrainerData(data, task, { train: splits.train.length, validation: splits.validation.length, test: splits.test.length });
  await fs.writeFile(files.MLCYCLE_SCHEMA_FILE, `${JSON.stringify(description, null, 2)}\n`);
  return { env: { ...files, MLCYCLE_TASK: task }, task, featureStats: numberFeatureStats(splits.table, splits.train, description.features) };
}

/** Written by mlcycle (not the trainer) into the uploaded output folder: what serving validates requests against. */
export const SERVING_FILE = 'mlcycle-serving.json';

/**
 * Number features carry their training `mean` and `std` and the spec's `serve` section rides along,
 * so `/predict` applies the same out-of-range rule to an ONNX model as to a built-in one.
 */
export async function writeServingDescription(
  outputDir: string,
  data: PipelineSpec['data'],
  task: TaskType,
  featureStats: Record<string, FeatureStats>,
  serve: PipelineSpec['serve'] | undefined,
): Promise<void> {
  const description = describeTrainerData(data, task, { train: 0, validation: 0, test: 0 });
  const { rows: _rows, format: _format, features, ...rest } = description;
  const described = features.map((f) => ({ ...f, ...(featureStats[f.name] ?? {}) }));
  await fs.writeFile(
    path.join(outputDir, SERVING_FILE),
    `${JSON.stringify({ format: 'mlcycle-serving/v1', ...rest, features: described, ...(serve ? { serve: { outOfRange: serve.outOfRange } } : {}) }, null, 2)}\n`,
  );
}
