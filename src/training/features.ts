/**
 * Feature encoding: turns data rows (as declared by `data.schema` in the pipeline spec) into the
 * numeric matrix the built-in trainers work on.
 *
 * - `number` columns are standardized with the mean and (population) standard deviation of the
 *   training rows; a missing value becomes the mean, i.e. 0 after standardizing. A constant column
 *   encodes as all zeros.
 * - `boolean` columns become 0/1; a missing value becomes the fraction of `true` in training.
 * - `category` columns are one-hot encoded over the value list the schema declares (so the feature
 *   layout does not depend on which values happen to occur in the training rows); a missing or
 *   undeclared value encodes as all zeros.
 * - `string` columns (ids, free text) are ignored.
 * - The target (boolean, 2-valued category, or a number column holding 0/1) becomes 0/1.
 *
 * The fitted encoder is plain JSON, so it travels inside the model artifact and a serving process
 * encodes requests exactly as training did.
 */
import { mean, standardDeviation } from 'simple-statistics';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';

/** A data row as the readers produce it: column name → value (numbers may still be strings, e.g. CSV). */
export type Row = Readonly<Record<string, unknown>>;

export type EncodedColumn =
  | { name: string; kind: 'number'; mean: number; std: number }
  | { name: string; kind: 'boolean'; fill: number }
  | { name: string; kind: 'category'; values: string[] };

export type TargetEncoding =
  | { column: string; kind: 'boolean' }
  | { column: string; kind: 'category'; positive: string; negative: string }
  | { column: string; kind: 'number' };

export interface EncoderState {
  format: 'mlcycle-encoder/v1';
  target: TargetEncoding;
  /** Encoded columns in feature order. */
  columns: EncodedColumn[];
  /** One name per feature: the column name, or `column=value` for a one-hot category feature. */
  featureNames: string[];
  /** Columns present in the schema that do not become features (string columns). */
  ignored: string[];
}

export interface EncodedData {
  X: number[][];
  y: number[];
}

export interface FitEncoderOptions {
  /** `data.schema` from the pipeline spec. */
  schema: Readonly<Record<string, ColumnRule>>;
  /** `data.target`. */
  target: string;
  /** Training rows only: statistics must not see test/validation rows. */
  rows: readonly Row[];
  /**
   * For a category target: the value that encodes as 1. Defaults to the last value the schema
   * lists (`values: [no, yes]` → `yes` is positive).
   */
  positiveClass?: string;
}

export function fitEncoder(options: FitEncoderOptions): EncoderState {
  const { schema, target, rows } = options;
  const targetRule = schema[target];
  if (targetRule === undefined) {
    throw new MlcycleError('DATA_INVALID', `target column "${target}" is not declared in data.schema`);
  }
  if (rows.length === 0) throw new MlcycleError('DATA_INVALID', 'cannot fit the feature encoder: no training rows');

  const targetEncoding = encodeTargetRule(target, targetRule, options.positiveClass);
  const columns: EncodedColumn[] = [];
  const featureNames: string[] = [];
  const ignored: string[] = [];

  for (const [name, rule] of Object.entries(schema)) {
    if (name === target) continue;
    switch (rule.type) {
      case 'number': {
        const values: number[] = [];
        for (const row of rows) {
          const v = toNumber(row[name]);
          if (v !== undefined) values.push(v);
        }
        const m = values.length > 0 ? mean(values) : 0;
        const sd = values.length > 1 ? standardDeviation(values) : 0;
        columns.push({ name, kind: 'number', mean: m, std: sd > 0 && Number.isFinite(sd) ? sd : 1 });
        featureNames.push(name);
        break;
      }
      case 'boolean': {
        let trues = 0;
        let seen = 0;
        for (const row of rows) {
          const v = toBoolean(row[name]);
          if (v === undefined) continue;
          seen++;
          if (v) trues++;
        }
        columns.push({ name, kind: 'boolean', fill: seen > 0 ? trues / seen : 0 });
        featureNames.push(name);
        break;
      }
      case 'category': {
        columns.push({ name, kind: 'category', values: [...rule.values] });
        for (const value of rule.values) featureNames.push(`${name}=${value}`);
        break;
      }
      case 'string':
        ignored.push(name);
        break;
    }
  }
  if (featureNames.length === 0) {
    throw new MlcycleError('DATA_INVALID', 'data.schema declares no feature columns (number, boolean or category) besides the target');
  }
  return { format: 'mlcycle-encoder/v1', target: targetEncoding, columns, featureNames, ignored };
}

/** Encodes feature columns and the target; every row must have a valid target value. */
export function encode(encoder: EncoderState, rows: readonly Row[]): EncodedData {
  const X = encodeFeatures(encoder, rows);
  const y = new Array<number>(rows.length);
  const t = encoder.target;
  for (let i = 0; i < rows.length; i++) {
    const raw = (rows[i] as Row)[t.column];
    const label = encodeTarget(t, raw);
    if (label === undefined) {
      throw new MlcycleError(
        'DATA_INVALID',
        `row ${i + 1}: target "${t.column}" has ${isMissing(raw) ? 'no value' : `the value ${JSON.stringify(raw)}`}; expected ${describeTarget(t)}`,
      );
    }
    y[i] = label;
  }
  return { X, y };
}

/** Encodes feature columns only (serving: rows have no target). */
export function encodeFeatures(encoder: EncoderState, rows: readonly Row[]): number[][] {
  const width = encoder.featureNames.length;
  const X = new Array<number[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    const out = new Array<number>(width).fill(0);
    let k = 0;
    for (const col of encoder.columns) {
      const raw = row[col.name];
      switch (col.kind) {
        case 'number': {
          const v = toNumber(raw);
          out[k++] = v === undefined ? 0 : (v - col.mean) / col.std;
          break;
        }
        case 'boolean': {
          const v = toBoolean(raw);
          out[k++] = v === undefined ? col.fill : v ? 1 : 0;
          break;
        }
        case 'category': {
          const idx = isMissing(raw) ? -1 : col.values.indexOf(String(raw));
          if (idx >= 0) out[k + idx] = 1;
          k += col.values.length;
          break;
        }
      }
    }
    X[i] = out;
  }
  return X;
}

function encodeTargetRule(column: string, rule: ColumnRule, positiveClass: string | undefined): TargetEncoding {
  switch (rule.type) {
    case 'boolean':
      return { column, kind: 'boolean' };
    case 'number':
      return { column, kind: 'number' };
    case 'category': {
      if (rule.values.length !== 2) {
        throw new MlcycleError(
          'DATA_INVALID',
          `target "${column}" has ${rule.values.length} categories (${rule.values.join(', ')}); the built-in trainers do binary classification and need exactly 2`,
        );
      }
      const positive = positiveClass ?? (rule.values[1] as string);
      if (!rule.values.includes(positive)) {
        throw new MlcycleError('DATA_INVALID', `positive class "${positive}" is not one of the target's values (${rule.values.join(', ')})`);
      }
      const negative = rule.values.find((v) => v !== positive) as string;
      return { column, kind: 'category', positive, negative };
    }
    case 'string':
      throw new MlcycleError('DATA_INVALID', `target "${column}" is a string column; declare it as boolean or as a category with 2 values`);
  }
}

function encodeTarget(t: TargetEncoding, raw: unknown): number | undefined {
  switch (t.kind) {
    case 'boolean': {
      const v = toBoolean(raw);
      return v === undefined ? undefined : v ? 1 : 0;
    }
    case 'number': {
      const v = toNumber(raw);
      return v === 0 || v === 1 ? v : undefined;
    }
    case 'category': {
      if (isMissing(raw)) return undefined;
      const s = String(raw);
      return s === t.positive ? 1 : s === t.negative ? 0 : undefined;
    }
  }
}

function describeTarget(t: TargetEncoding): string {
  switch (t.kind) {
    case 'boolean':
      return 'true or false';
    case 'number':
      return '0 or 1';
    case 'category':
      return `"${t.negative}" or "${t.positive}"`;
  }
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
