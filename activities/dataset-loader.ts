import fs from 'node:fs/promises';
import path from 'node:path';
import { loadSnapshotColumns, type LoadedTable } from '../src/data/columnar-load';
import { withEngine } from '../src/data/engine';
import { MlcycleError } from '../src/errors';
import { assignSplits, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '../src/data/split';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import type { DatasetRef } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';

// ---------------------------------------------------------------------------------------------
// The canonical snapshot, loaded column-wise and split three ways

export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
  /** Rows of the snapshot left out because their target is missing. */
  droppedMissingTarget: number;
  /** Per split, rows per class (classification targets). */
  classes?: Record<'train' | 'validation' | 'test', Record<string, number>>;
}

export interface SnapshotSplits {
  table: LoadedTable;
  train: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
  counts: SplitCounts;
}

export interface LoadSplitsOptions {
  scratch: string;
  signal?: AbortSignal;
  onProgress?: (rows: number) => void;
  /** Category values outside the schema keep codes of their own (the drift reference counts them by name). */
  undeclaredCategories?: boolean;
}

/**
 * Downloads the dataset's snapshot (hash-verified), loads the schema's columns into typed arrays
 * and splits the rows (by their index in the snapshot, see assignSplits). Train, tuning trials
 * and evaluate all call this, so the three sets are the same in each without being stored.
 */
export async function loadSnapshotSplits(deps: ActivityDeps, dataset: DatasetRef, data: PipelineSpec['data'], options: LoadSplitsOptions): Promise<SnapshotSplits> {
  if (!dataset.snapshot) {
    throw new MlcycleError('DATA_INVALID', `dataset ${dataset.sha256.slice(0, 12)} has no columnar snapshot (ingested by an older version); ingest it again`);
  }
  const local = path.join(options.scratch, `${dataset.snapshot.sha256}.parquet`);
  await deps.store.getToFile(dataset.snapshot, local);
  const table = await withEngine({ scratchDir: options.scratch, signal: options.signal }, (engine) =>
    loadSnapshotColumns(engine, { snapshotPath: local, schema: data.schema, target: data.target, groupBy: data.split.groupBy, onProgress: options.onProgress, ...(options.undeclaredCategories ? { undeclaredCategories: true } : {}) }),
  );
  await fs.rm(local, { force: true });
  const assigned = assignSplits(table.rowIndex, {
    test: data.split.test,
    validation: data.split.validation,
    seed: data.split.seed,
    ...(data.split.stratify ? { stratify: table.target } : {}),
    ...(table.groups ? { groups: table.groups } : {}),
  });
  const sizes = [0, 0, 0];
  for (let i = 0; i < assigned.length; i++) sizes[assigned[i]!]!++;
  const sets = sizes.map((s) => new Uint32Array(s));
  const fill = [0, 0, 0];
  for (let i = 0; i < assigned.length; i++) {
    const s = assigned[i]!;
    sets[s]![fill[s]!++] = i;
  }
  const [train, validation, test] = [sets[SPLIT_TRAIN]!, sets[SPLIT_VALIDATION]!, sets[SPLIT_TEST]!];
  const counts: SplitCounts = { train: train.length, validation: validation.length, test: test.length, droppedMissingTarget: table.droppedMissingTarget };
  if (table.targetClasses) {
    const names = table.targetClasses;
    const per = (rows: Uint32Array) => {
      const c: Record<string, number> = {};
      for (let i = 0; i < rows.length; i++) {
        const k = table.target[rows[i]!]!;
        const label = names[k] ?? String(k);
        c[label] = (c[label] ?? 0) + 1;
      }
      return c;
    };
    counts.classes = { train: per(train), validation: per(validation), test: per(test) };
  }
  return { table, train, validation, test, counts };
}
