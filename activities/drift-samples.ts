/**
 * The monitor's two samples, column-wise through the engine, never as row objects: the reference
 * is the training rows of the serving version's snapshot (loaded and split as train loads them,
 * loadSnapshotSplits), the current window a file (`monitor.source`) or the prediction logs, read
 * by the engine into the same typed columns. A numeric feature stays a Float64Array; a categorical
 * one becomes counts per value (values the schema does not declare keep their own name, so a new
 * category shows as drift).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadSnapshotColumns, type LoadedColumn, type LoadedTable } from '../src/data/columnar-load';
import type { DataSchema } from '../src/data/coerce';
import type { DataFormat } from '../src/data/dataset-reader';
import { withEngine } from '../src/data/engine';
import { sourceFile } from '../src/data/ingest-source';
import { countStaged, counted, openSource, writeSnapshot, writeSnapshotStrict } from '../src/data/snapshot';
import type { DriftSample } from '../src/monitoring/drift-check';
import type { FeatureKind } from '../src/monitoring/drift';
import type { ColumnRule } from '../src/spec/pipeline-spec';

export interface DriftFeature {
  name: string;
  kind: FeatureKind;
}

/** Every feature of the schema drift is computed for: numbers numeric, booleans and categories categorical. */
export function driftFeatures(schema: DataSchema, target: string): DriftFeature[] {
  return Object.entries(schema)
    .filter(([name, rule]) => name !== target && rule.type !== 'string')
    .map(([name, rule]) => ({ name, kind: rule.type === 'number' ? ('numeric' as const) : ('categorical' as const) }));
}

/** The values of `rows` of a column (all of them when `rows` is undefined). */
function gather(values: Float64Array, rows: Uint32Array | undefined): Float64Array {
  if (!rows) return values;
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]!]!;
  return out;
}

/** Counts per value of a boolean (1/0) or category (code) column over `rows`. */
function categoryCounts(col: LoadedColumn, rows: Uint32Array | undefined): Map<string, number> {
  const labels = col.rule.type === 'boolean' ? ['false', 'true'] : (col.labels ?? (col.rule.type === 'category' ? col.rule.values : []));
  const counts = new Float64Array(labels.length + 1); // the last: a code without a label
  const v = col.values;
  const n = rows ? rows.length : v.length;
  for (let k = 0; k < n; k++) {
    const x = v[rows ? rows[k]! : k]!;
    if (Number.isNaN(x)) continue;
    counts[x >= 0 && x < labels.length ? x : labels.length]!++;
  }
  const out = new Map<string, number>();
  labels.forEach((label, i) => {
    if (counts[i]! > 0) out.set(label, counts[i]!);
  });
  if (counts[labels.length]! > 0) out.set('(undeclared)', counts[labels.length]!);
  return out;
}

/** Whether a target label counts as the positive class for label shift. */
const POSITIVE_LABELS: ReadonlySet<string> = new Set(['true', 'yes', '1']);

function positiveRate(table: LoadedTable, rule: ColumnRule, rows: Uint32Array | undefined): DriftSample['positives'] {
  const y = table.target;
  const n = rows ? rows.length : y.length;
  let seen = 0;
  let pos = 0;
  for (let k = 0; k < n; k++) {
    const v = y[rows ? rows[k]! : k]!;
    if (Number.isNaN(v)) continue;
    seen++;
    if (rule.type === 'category' ? v >= 0 && POSITIVE_LABELS.has(table.targetClasses?.[v] ?? '') : v === 1) pos++;
  }
  return seen > 0 ? { rate: pos / seen, n: seen } : undefined;
}

/**
 * The drift sample of `rows` of a loaded table (every row when undefined). Features the data does
 * not have are left out (the check lists them as missing).
 */
export function driftSample(table: LoadedTable, rows: Uint32Array | undefined, features: readonly DriftFeature[], targetRule: ColumnRule): DriftSample {
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const out: Record<string, Float64Array | ReadonlyMap<string, number>> = {};
  for (const f of features) {
    const col = byName.get(f.name);
    if (!col || col.absent) continue;
    out[f.name] = f.kind === 'numeric' ? gather(col.values, rows) : categoryCounts(col, rows);
  }
  const positives = positiveRate(table, targetRule, rows);
  return { rows: rows ? rows.length : table.rows, features: out, ...(positives ? { positives } : {}) };
}

export interface WindowFile {
  /** Local path of the data. */
  path: string;
  /** How messages name it (the spec's URI). */
  name: string;
  format: DataFormat;
}

/**
 * Loads a current window (any format ingest reads) through the engine: typed by the schema into a
 * Parquet file in `scratch` (the snapshot's rules), then loaded column-wise with every row kept,
 * labelled or not, and category values outside the schema kept under their own names.
 */
export async function loadWindowColumns(file: WindowFile, data: { schema: DataSchema; target: string }, scratch: string, signal?: AbortSignal): Promise<LoadedTable> {
  const typed = path.join(scratch, `window-${path.basename(file.path)}.parquet`);
  try {
    return await withEngine({ scratchDir: scratch, signal }, async (engine) => {
      // One read of the window when its values fit the schema (as ingest does); else the counted path.
      const opened = await openSource(engine, sourceFile(file.path, file.name, file.format));
      const strict = await writeSnapshotStrict(engine, opened, data.schema, typed);
      if (strict) counted(opened, strict.rowCount);
      else await writeSnapshot(engine, await countStaged(engine, opened), data.schema, {}, typed);
      return loadSnapshotColumns(engine, { snapshotPath: typed, schema: data.schema, target: data.target, keepMissingTarget: true, undeclaredCategories: true });
    });
  } finally {
    await fs.rm(typed, { force: true });
  }
}
