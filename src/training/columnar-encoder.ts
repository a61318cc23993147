/**
 * The columnar encoder: fits the task-aware feature encoding (the `RowMatrixEncoder` JSON that the
 * model artifact carries and serving applies to request rows, see row-matrix-adapter.ts) on the
 * training rows of a loaded snapshot, and encodes any split into a FeatureMatrix and an
 * EncodedTarget straight from the typed columns: never row objects.
 *
 * The numbers are exactly those of encodeFeatureRows/encodeTargetRows on the same rows (a test
 * holds the two side by side), so a model scores served rows as it was trained and evaluated.
 */
import type { LoadedColumn, LoadedTable } from '../data/columnar-load';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import type { EncodedTarget, FeatureMatrix, LabeledMatrix, TaskType } from './feature-matrix';
import { buildMatrixEncoder, targetClasses, type RowMatrixEncoder } from './row-matrix-adapter';
import { noTaskReason, targetTask } from './task';

type Schema = Readonly<Record<string, ColumnRule>>;

/** The label of the loaded target value `v` (a class index, 1/0, or a number), as data and serving spell it. */
export function targetLabel(table: LoadedTable, rule: ColumnRule, v: number): string | undefined {
  if (Number.isNaN(v)) return undefined;
  if (rule.type === 'number') return String(v);
  if (v < 0) return undefined; // a category value the schema does not declare
  return table.targetClasses?.[v];
}

/**
 * The task for the target: declared, implied by the schema, or (a number target) binary when every
 * training value is 0 or 1, else regression. Scans the target column of the training rows only.
 */
export function resolveTaskFromColumns(declared: TaskType | undefined, table: LoadedTable, target: string, rule: ColumnRule, trainRows: Uint32Array): TaskType {
  let zeroOne: boolean | undefined;
  if (!declared && rule.type === 'number') {
    zeroOne = true;
    for (let k = 0; k < trainRows.length && zeroOne; k++) {
      const y = table.target[trainRows[k]!]!;
      if (y !== 0 && y !== 1) zeroOne = false;
    }
  }
  const task = targetTask(rule, declared, zeroOne === undefined ? {} : { zeroOne });
  if (task === undefined) throw new MlcycleError('DATA_INVALID', noTaskReason(target, rule));
  return task;
}

/** Fits the encoder on the rows `trainRows` of `table` (the task resolved from them when not given). */
export function fitColumnarEncoder(table: LoadedTable, opts: { schema: Schema; target: string; task?: TaskType | undefined; trainRows: Uint32Array }): RowMatrixEncoder {
  const { schema, target, trainRows } = opts;
  const rule = schema[target];
  if (rule === undefined) throw new MlcycleError('DATA_INVALID', `target column "${target}" is not declared in data.schema`);
  if (trainRows.length === 0) throw new MlcycleError('DATA_INVALID', 'cannot fit the feature encoder: no training rows');
  const task = resolveTaskFromColumns(opts.task, table, target, rule, trainRows);
  const classes = targetClasses(target, rule, task, function* () {
    for (let k = 0; k < trainRows.length; k++) yield targetLabel(table, rule, table.target[trainRows[k]!]!);
  });
  const loaded = new Map(table.columns.map((c) => [c.name, c.values]));
  return buildMatrixEncoder({
    schema,
    target,
    task,
    classes,
    numberValues: function* (name) {
      const v = loaded.get(name);
      if (!v) return;
      for (let k = 0; k < trainRows.length; k++) yield v[trainRows[k]!]!;
    },
  });
}

/** For a category column: loaded value index (into the column's schema values) → position in `values`, -1 if absent. */
function categoryRemap(col: LoadedColumn | undefined, values: readonly string[]): Int32Array {
  const declared = col?.labels ?? (col?.rule.type === 'category' ? col.rule.values : []);
  const at = new Map(values.map((v, i) => [v, i]));
  return Int32Array.from(declared, (v) => at.get(v) ?? -1);
}

/**
 * Encodes the features of the rows `rows` of `table`, column-major: number → the value, boolean →
 * 1/0, category → one-hot over the encoder's values (all NaN when missing, all 0 when the value is
 * not one of them). NaN marks a missing value; a column absent from the data is all missing.
 */
export function encodeFeatureColumns(enc: RowMatrixEncoder, table: LoadedTable, rows: Uint32Array): FeatureMatrix {
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const n = rows.length;
  const out: Float64Array[] = [];
  for (const col of enc.columns) {
    const loaded = byName.get(col.name);
    const v = loaded?.values;
    if (col.kind === 'category') {
      const hot = col.values.map(() => new Float64Array(n));
      const remap = categoryRemap(loaded, col.values);
      for (let k = 0; k < n; k++) {
        const idx = v ? v[rows[k]!]! : Number.NaN;
        if (Number.isNaN(idx)) {
          for (const h of hot) h[k] = Number.NaN;
          continue;
        }
        const at = idx >= 0 && idx < remap.length ? remap[idx]! : -1;
        if (at >= 0) hot[at]![k] = 1;
      }
      out.push(...hot);
    } else {
      const a = new Float64Array(n);
      if (!v) a.fill(Number.NaN);
      // A boolean column arrives as 1/0/NaN from the engine, the same numbers serving makes.
      else for (let k = 0; k < n; k++) a[k] = v[rows[k]!]!;
      out.push(a);
    }
  }
  return { rows: n, featureNames: [...enc.featureNames], columns: out };
}

/**
 * The target of `rows`: regression → the value, classification → the class index into the
 * encoder's classes. A row whose value is not a class of the encoder is refused with its snapshot
 * row number (1-based, the file's data row), unless `skipUnknown` asks to leave such rows out.
 */
export function encodeTargetColumn(enc: RowMatrixEncoder, table: LoadedTable, rule: ColumnRule, rows: Uint32Array, opts: { skipUnknown?: boolean } = {}): EncodedTarget {
  const { column, classes } = enc.target;
  const values = new Float64Array(rows.length);
  const index = new Map((classes ?? []).map((c, i) => [c, i]));
  let kept = 0;
  for (let k = 0; k < rows.length; k++) {
    const raw = table.target[rows[k]!]!;
    let v: number | undefined;
    if (enc.task === 'regression') v = Number.isFinite(raw) ? raw : undefined;
    else {
      const l = targetLabel(table, rule, raw);
      v = l === undefined ? undefined : index.get(l);
    }
    if (v === undefined) {
      if (opts.skipUnknown) continue;
      const expected = enc.task === 'regression' ? 'a number' : `one of ${(classes ?? []).map((c) => JSON.stringify(c)).join(', ')}`;
      const label = targetLabel(table, rule, raw);
      const has = label !== undefined ? `the value ${JSON.stringify(label)}` : rule.type === 'category' && raw < 0 ? 'a value data.schema does not declare' : 'no value';
      throw new MlcycleError('DATA_INVALID', `data row ${table.rowIndex[rows[k]!]! + 1}: target "${column}" has ${has}; expected ${expected}`);
    }
    values[kept++] = v;
  }
  return { task: enc.task, values: kept === rows.length ? values : values.slice(0, kept), ...(classes ? { classes: [...classes] } : {}) };
}

export function encodeSplit(enc: RowMatrixEncoder, table: LoadedTable, rule: ColumnRule, rows: Uint32Array): LabeledMatrix {
  return { X: encodeFeatureColumns(enc, table, rows), y: encodeTargetColumn(enc, table, rule, rows) };
}
