import path from 'node:path';
import { createRowCoercer } from '../src/data/coerce';
import { readRows } from '../src/data/dataset-reader';
import { splitIndices } from '../src/data/split';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import type { Row } from '../src/training/features';
import type { DatasetRef } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';

export interface SplitRows {
  train: Row[];
  test: Row[];
  /** 1-based positions in the data file of the train and test rows (for messages). */
  trainRowNumbers: number[];
  testRowNumbers: number[];
  /** Local copy of the dataset (command trainers read it). */
  localPath: string;
}

/**
 * Downloads a dataset version (hash-verified), coerces it to the schema and splits it with the
 * spec's seed. Train and evaluate both call this, so the held-out rows are the same in both
 * without being stored twice. Rows whose target is missing are left out of both sets.
 */
export async function loadSplitRows(deps: ActivityDeps, dataset: DatasetRef, data: PipelineSpec['data'], scratch: string): Promise<SplitRows> {
  const localPath = path.join(scratch, `${dataset.sha256}.${dataset.format}`);
  await deps.store.getToFile(dataset, localPath);
  const coerce = createRowCoercer(data.schema);
  const rows: Row[] = [];
  const rowNumbers: number[] = [];
  let position = 0;
  for await (const raw of readRows(localPath, dataset.format)) {
    position++;
    const { row } = coerce(raw);
    const label = row[data.target];
    if (label === null || label === undefined) continue;
    rows.push(row);
    rowNumbers.push(position);
  }
  const labels = rows.map((r) => r[data.target]);
  // Stratify classes; a continuous target (more than two distinct numbers) is split plainly.
  const continuous = data.schema[data.target]?.type === 'number' && new Set(labels).size > 2;
  const split = splitIndices(rows.length, { test: data.split.test, seed: data.split.seed, ...(continuous ? {} : { stratify: labels }) });
  const pick = (idx: Uint32Array) => Array.from(idx, (i) => rows[i] as Row);
  const numbers = (idx: Uint32Array) => Array.from(idx, (i) => rowNumbers[i] as number);
  return { train: pick(split.train), test: pick(split.test), trainRowNumbers: numbers(split.train), testRowNumbers: numbers(split.test), localPath };
}
