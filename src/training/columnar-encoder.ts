/**
 * The columnar encoder: fits the feature encoding (features.ts's EncoderState JSON, so a model's
 * serving encodes requests exactly as training did) on the training rows of a loaded snapshot, and
 * encodes any split into a FeatureMatrix and an EncodedTarget, column by column in typed arrays.
 *
 * Semantics are features.ts's: numbers standardized by the training rows' mean and population
 * std (missing → 0 after standardizing), booleans 0/1 (missing → the training fraction of true),
 * categories one-hot over the schema's declared values (missing/undeclared → all zeros).
 */
import type { LoadedTable } from '../data/columnar-load';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import type { EncodedTarget, FeatureMatrix, LabeledMatrix, TaskType } from './feature-matrix';
import type { EncodedColumn, EncoderState, TargetEncoding } from './features';
import { inferTask } from './task';

export interface ColumnarEncoder {
  state: EncoderState;
  task: TaskType;
  /** Class labels by index (binary: [negative, positive]; multiclass: the schema's values). */
  classes?: string[];
}

function targetEncoding(column: string, rule: ColumnRule, task: TaskType): TargetEncoding {
  if (task === 'binary' && rule.type === 'category') {
    if (rule.values.length !== 2) throw new MlcycleError('DATA_INVALID', `target "${column}" has ${rule.values.length} categories; a binary task needs exactly 2`);
    return { column, kind: 'category', positive: rule.values[1]!, negative: rule.values[0]! };
  }
  if (rule.type === 'boolean') return { column, kind: 'boolean' };
  // Regression (and a 0/1 number target); a multiclass category keeps its classes in `classes`.
  return rule.type === 'category' ? { column, kind: 'category', positive: rule.values[rule.values.length - 1]!, negative: rule.values[0]! } : { column, kind: 'number' };
}

/** Fits the encoder on the rows of `table` whose index is in `trainRows`. */
export function fitColumnarEncoder(table: LoadedTable, target: string, targetRule: ColumnRule, trainRows: Uint32Array, task?: TaskType): ColumnarEncoder {
  if (trainRows.length === 0) throw new MlcycleError('DATA_INVALID', 'cannot fit the feature encoder: no training rows');
  const t = task ?? inferTask(targetRule);
  if (!t) throw new MlcycleError('DATA_INVALID', `target "${target}" is a ${targetRule.type} column; declare it as boolean, category or number`);
  const columns: EncodedColumn[] = [];
  const featureNames: string[] = [];
  for (const col of table.columns) {
    const v = col.values;
    switch (col.rule.type) {
      case 'number': {
        let n = 0;
        let mean = 0;
        let m2 = 0;
        for (let k = 0; k < trainRows.length; k++) {
          const x = v[trainRows[k]!]!;
          if (Number.isNaN(x)) continue;
          n++;
          const d = x - mean;
          mean += d / n;
          m2 += d * (x - mean);
        }
        const sd = n > 1 ? Math.sqrt(m2 / n) : 0;
        columns.push({ name: col.name, kind: 'number', mean: n > 0 ? mean : 0, std: sd > 0 && Number.isFinite(sd) ? sd : 1 });
        featureNames.push(col.name);
        break;
      }
      case 'boolean': {
        let seen = 0;
        let trues = 0;
        for (let k = 0; k < trainRows.length; k++) {
          const x = v[trainRows[k]!]!;
          if (Number.isNaN(x)) continue;
          seen++;
          trues += x;
        }
        columns.push({ name: col.name, kind: 'boolean', fill: seen > 0 ? trues / seen : 0 });
        featureNames.push(col.name);
        break;
      }
      case 'category':
        columns.push({ name: col.name, kind: 'category', values: [...col.rule.values] });
        for (const value of col.rule.values) featureNames.push(`${col.name}=${value}`);
        break;
      default:
        break;
    }
  }
  if (featureNames.length === 0) {
    throw new MlcycleError('DATA_INVALID', 'data.schema declares no feature columns (number, boolean or category) besides the target');
  }
  const ignored = table.columns.filter((c) => c.rule.type === 'string').map((c) => c.name);
  const state: EncoderState = { format: 'mlcycle-encoder/v1', target: targetEncoding(target, targetRule, t), columns, featureNames, ignored };
  const classes = t === 'regression' ? undefined : targetRule.type === 'category' ? [...targetRule.values] : ['0', '1'];
  return { state, task: t, ...(classes ? { classes: targetRule.type === 'boolean' ? ['false', 'true'] : classes } : {}) };
}

/** Encodes the features of the rows `rows` of `table` (column-major, no missing values left). */
export function encodeColumns(encoder: EncoderState, table: LoadedTable, rows: Uint32Array): FeatureMatrix {
  const byName = new Map(table.columns.map((c) => [c.name, c.values]));
  const out: Float64Array[] = [];
  const n = rows.length;
  for (const col of encoder.columns) {
    const v = byName.get(col.name);
    switch (col.kind) {
      case 'number': {
        const a = new Float64Array(n);
        if (v) {
          for (let k = 0; k < n; k++) {
            const x = v[rows[k]!]!;
            a[k] = Number.isNaN(x) ? 0 : (x - col.mean) / col.std;
          }
        }
        out.push(a);
        break;
      }
      case 'boolean': {
        const a = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const x = v ? v[rows[k]!]! : Number.NaN;
          a[k] = Number.isNaN(x) ? col.fill : x;
        }
        out.push(a);
        break;
      }
      case 'category': {
        const hot = col.values.map(() => new Float64Array(n));
        if (v) {
          for (let k = 0; k < n; k++) {
            const idx = v[rows[k]!]!;
            if (idx >= 0 && idx < hot.length) hot[idx]![k] = 1;
          }
        }
        out.push(...hot);
        break;
      }
    }
  }
  return { rows: n, featureNames: [...encoder.featureNames], columns: out };
}

/** Encodes the target of `rows`; a row whose target is not a valid label for the task is refused. */
export function encodeTargetColumn(encoder: ColumnarEncoder, table: LoadedTable, rows: Uint32Array): EncodedTarget {
  const values = new Float64Array(rows.length);
  const k = encoder.classes?.length ?? 0;
  const name = encoder.state.target.column;
  for (let i = 0; i < rows.length; i++) {
    const y = table.target[rows[i]!]!;
    const ok = encoder.task === 'regression' ? Number.isFinite(y) : Number.isInteger(y) && y >= 0 && y < Math.max(k, 2) && (encoder.task !== 'binary' || y <= 1);
    if (!ok) {
      throw new MlcycleError(
        'DATA_INVALID',
        `snapshot row ${table.rowIndex[rows[i]!]! + 1}: target "${name}" is ${encoder.task === 'regression' ? 'not a finite number' : `not one of ${JSON.stringify(encoder.classes ?? ['0', '1'])}`} (a ${encoder.task} target)`,
      );
    }
    values[i] = y;
  }
  return { task: encoder.task, values, ...(encoder.classes ? { classes: encoder.classes } : {}) };
}

export function encodeSplit(encoder: ColumnarEncoder, table: LoadedTable, rows: Uint32Array): LabeledMatrix {
  return { X: encodeColumns(encoder.state, table, rows), y: encodeTargetColumn(encoder, table, rows) };
}
