/**
 * The feature encoder's JSON format (`mlcycle-row-matrix/v1`, carried by every model artifact) and
 * its row side: serving encodes request rows with encodeFeatureRows. Training fits and applies the
 * same encoder to the snapshot's typed columns (columnar-encoder.ts, held equal to this file's
 * fitRowEncoder/encode* by test/training/columnar-encoder.test.ts).
 *
 * Features, column by column: `number` → the value (NaN when missing; no scaling, the linear
 * model standardizes inside, trees need none); `boolean` → 0/1 (NaN when missing); `category` →
 * one-hot over the values the schema declares (all NaN when missing, all 0 for an undeclared
 * value); `string` columns are ignored. Target: binary → 0/1 with classes [negative, positive]
 * (a category's last declared value, `true`, or 1 is positive); multiclass → class index into
 * `classes` (declared order, classes absent from training dropped); regression → the number.
 *
 * The encoder is plain JSON and travels inside the model, so serving encodes requests exactly as
 * training did.
 */
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import type { EncodedTarget, FeatureMatrix, TaskType } from './feature-matrix';
import { labelOf } from './target-task';

export type Row = Readonly<Record<string, unknown>>;

/** Number columns keep the training mean and standard deviation (serving names absurd values with them). */
export type MatrixColumn = { name: string; kind: 'number'; mean: number; std: number } | { name: string; kind: 'boolean' } | { name: string; kind: 'category'; values: string[] };

export interface RowMatrixEncoder {
  format: 'mlcycle-row-matrix/v1';
  task: TaskType;
  target: { column: string; kind: ColumnRule['type']; classes?: string[] };
  columns: MatrixColumn[];
  featureNames: string[];
  /** Schema columns that are not features (string columns). */
  ignored: string[];
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function toBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === '0' || s === 'no') return false;
  }
  return undefined;
}

/** The label a target value has as a class (booleans and 0/1 spelled the same way everywhere). */
function classLabel(kind: ColumnRule['type'], v: unknown): string | undefined {
  if (isMissing(v)) return undefined;
  if (kind === 'boolean') {
    const b = toBoolean(v);
    return b === undefined ? undefined : String(b);
  }
  if (kind === 'number') {
    const n = toNumber(v);
    return n === undefined ? undefined : String(n);
  }
  return labelOf(v);
}

/**
 * Target classes for `task` (undefined for regression): binary from the schema, multiclass from
 * the training labels (declared order for categories, numeric for numbers).
 */
export function targetClasses(target: string, rule: ColumnRule, task: TaskType, trainLabels: () => Iterable<string | undefined>): string[] | undefined {
  if (task === 'regression') {
    if (rule.type !== 'number') throw new MlcycleError('DATA_INVALID', `target "${target}": regression needs a number column; data.schema declares it as ${rule.type}`);
    return undefined;
  }
  if (task === 'binary') {
    if (rule.type === 'boolean') return ['false', 'true'];
    if (rule.type === 'category') {
      if (rule.values.length !== 2) throw new MlcycleError('DATA_INVALID', `target "${target}" has ${rule.values.length} categories (${rule.values.join(', ')}); binary needs exactly 2 (use train.task: multiclass)`);
      return [...rule.values];
    }
    if (rule.type === 'number') return ['0', '1'];
    throw new MlcycleError('DATA_INVALID', `target "${target}" is a string column; declare it as boolean or a category`);
  }
  const seen = new Set<string>();
  for (const l of trainLabels()) if (l !== undefined) seen.add(l);
  const classes = rule.type === 'category' ? rule.values.filter((v) => seen.has(v)) : rule.type === 'number' ? [...seen].sort((a, b) => Number(a) - Number(b)) : [...seen].sort();
  if (classes.length < 2) throw new MlcycleError('DATA_INVALID', `target "${target}": the training rows hold ${classes.length} class(es); multiclass needs at least 2`);
  return classes;
}

/**
 * Count, mean and population standard deviation of the finite values, in one pass (Welford: no
 * cancellation for a large mean with a small spread). The training statistics serving checks
 * requests against, for built-in and ONNX models alike.
 */
export function numberMoments(values: Iterable<number>): { n: number; mean: number; std: number } {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    n++;
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
  }
  return { n, mean, std: n > 0 ? Math.sqrt(m2 / n) : 0 };
}

/**
 * The encoder for `schema`, with each number column's training mean and (population) standard
 * deviation from `numberValues(name)` (finite values only; non-finite ones are skipped).
 */
export function buildMatrixEncoder(opts: {
  schema: Readonly<Record<string, ColumnRule>>;
  target: string;
  task: TaskType;
  classes: string[] | undefined;
  numberValues: (column: string) => Iterable<number>;
}): RowMatrixEncoder {
  const { schema, target, task, classes } = opts;
  const rule = schema[target]!;
  const columns: MatrixColumn[] = [];
  const featureNames: string[] = [];
  const ignored: string[] = [];
  for (const [name, r] of Object.entries(schema)) {
    if (name === target) continue;
    if (r.type === 'number') {
      // Kept for serving (it names absurd values with them); the trainers scale for themselves.
      const { mean, std } = numberMoments(opts.numberValues(name));
      columns.push({ name, kind: 'number', mean, std: std > 0 && Number.isFinite(std) ? std : 1 });
      featureNames.push(name);
    } else if (r.type === 'boolean') {
      columns.push({ name, kind: 'boolean' });
      featureNames.push(name);
    } else if (r.type === 'category') {
      columns.push({ name, kind: 'category', values: [...r.values] });
      for (const v of r.values) featureNames.push(`${name}=${v}`);
    } else ignored.push(name);
  }
  if (featureNames.length === 0) {
    throw new MlcycleError('DATA_INVALID', 'data.schema declares no feature columns (number, boolean or category) besides the target');
  }
  return { format: 'mlcycle-row-matrix/v1', task, target: { column: target, kind: rule.type, ...(classes ? { classes } : {}) }, columns, featureNames, ignored };
}

export function fitRowEncoder(opts: { schema: Readonly<Record<string, ColumnRule>>; target: string; task: TaskType; rows: readonly Row[] }): RowMatrixEncoder {
  const { schema, target, task, rows } = opts;
  const rule = schema[target];
  if (rule === undefined) throw new MlcycleError('DATA_INVALID', `target column "${target}" is not declared in data.schema`);
  if (rows.length === 0) throw new MlcycleError('DATA_INVALID', 'cannot fit the feature encoder: no training rows');
  const classes = targetClasses(target, rule, task, () => rows.map((r) => classLabel(rule.type, r[target])));
  return buildMatrixEncoder({
    schema,
    target,
    task,
    classes,
    numberValues: function* (name) {
      for (const row of rows) {
        const v = toNumber(row[name]);
        if (v !== undefined) yield v;
      }
    },
  });
}

export function encodeFeatureRows(enc: RowMatrixEncoder, rows: readonly Row[]): FeatureMatrix {
  const n = rows.length;
  const columns = enc.featureNames.map(() => new Float64Array(n));
  let k = 0;
  for (const col of enc.columns) {
    if (col.kind === 'category') {
      const width = col.values.length;
      const index = new Map(col.values.map((v, i) => [v, i]));
      for (let i = 0; i < n; i++) {
        const raw = (rows[i] as Row)[col.name];
        if (isMissing(raw)) {
          for (let j = 0; j < width; j++) (columns[k + j] as Float64Array)[i] = Number.NaN;
          continue;
        }
        const at = index.get(String(raw));
        if (at !== undefined) (columns[k + at] as Float64Array)[i] = 1;
      }
      k += width;
    } else {
      const out = columns[k++] as Float64Array;
      for (let i = 0; i < n; i++) {
        const raw = (rows[i] as Row)[col.name];
        const v = col.kind === 'number' ? toNumber(raw) : ((b) => (b === undefined ? undefined : b ? 1 : 0))(toBoolean(raw));
        out[i] = v === undefined ? Number.NaN : v;
      }
    }
  }
  return { rows: n, featureNames: [...enc.featureNames], columns };
}

/**
 * The target of labelled rows; every row must have a valid value. `rowNumbers` are the rows'
 * 1-based positions in the data file, for messages (the split shuffles rows).
 */
export function encodeTargetRows(enc: RowMatrixEncoder, rows: readonly Row[], rowNumbers?: readonly number[]): EncodedTarget {
  const { column, kind, classes } = enc.target;
  const values = new Float64Array(rows.length);
  const index = new Map((classes ?? []).map((c, i) => [c, i]));
  for (let i = 0; i < rows.length; i++) {
    const raw = (rows[i] as Row)[column];
    let v: number | undefined;
    if (enc.task === 'regression') v = toNumber(raw);
    else {
      const l = classLabel(kind, raw);
      v = l === undefined ? undefined : index.get(l);
    }
    if (v === undefined) {
      const where = `data row ${rowNumbers?.[i] ?? i + 1}`;
      const expected = enc.task === 'regression' ? 'a number' : `one of ${(classes ?? []).map((c) => JSON.stringify(c)).join(', ')}`;
      throw new MlcycleError('DATA_INVALID', `${where}: target "${column}" has ${isMissing(raw) ? 'no value' : `the value ${JSON.stringify(raw)}`}; expected ${expected}`);
    }
    values[i] = v;
  }
  return { task: enc.task, values, ...(classes ? { classes: [...classes] } : {}) };
}
