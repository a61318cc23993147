/**
 * The training data as trainers take it (a LabeledMatrix), the older row-major binary hand-over
 * converted to it, and the checks every trainer relies on before it starts.
 */
import { MlcycleError } from '../errors';
import type { FeatureMatrix, LabeledMatrix } from './feature-matrix';

/** Row-major rows and 0/1 labels: the older binary hand-over, still accepted (converted to a matrix). */
export interface TrainingData {
  X: number[][];
  y: number[];
}

/** Row-major rows → FeatureMatrix (checks the width). */
export function rowsToMatrix(X: readonly (readonly number[])[], width?: number): FeatureMatrix {
  const d = width ?? (X[0]?.length ?? 0);
  const columns = Array.from({ length: d }, () => new Float64Array(X.length));
  for (let i = 0; i < X.length; i++) {
    const row = X[i] as readonly number[];
    if (row.length !== d) throw new MlcycleError('DATA_INVALID', `row ${i + 1} has ${row.length} features; expected ${d}`);
    for (let j = 0; j < d; j++) (columns[j] as Float64Array)[i] = row[j] as number;
  }
  return { rows: X.length, featureNames: Array.from({ length: d }, (_, j) => `x${j}`), columns };
}

const legacyCache = new WeakMap<TrainingData, LabeledMatrix>();

/** The older binary hand-over as a LabeledMatrix (0/1 labels checked). */
export function toLabeledMatrix(data: LabeledMatrix | TrainingData, what = 'training data'): LabeledMatrix {
  if (!Array.isArray((data as TrainingData).X)) return data as LabeledMatrix;
  const legacy = data as TrainingData;
  const hit = legacyCache.get(legacy);
  if (hit) return hit;
  if (legacy.X.length !== legacy.y.length) throw new MlcycleError('DATA_INVALID', `${what} has ${legacy.X.length} rows but ${legacy.y.length} labels`);
  legacy.y.forEach((v, i) => {
    if (v !== 0 && v !== 1) throw new MlcycleError('DATA_INVALID', `${what} label ${i + 1} is ${String(v)}, expected 0 or 1`);
  });
  const m: LabeledMatrix = { X: rowsToMatrix(legacy.X), y: { task: 'binary', values: Float64Array.from(legacy.y), classes: ['0', '1'] } };
  legacyCache.set(legacy, m);
  return m;
}

/** Throws DATA_INVALID unless the matrix is non-empty, rectangular, and the target fits its task. */
export function validateTrainingData(data: LabeledMatrix, what = 'training data'): void {
  const { X, y } = data;
  if (X.rows === 0) throw new MlcycleError('DATA_INVALID', `${what} has no rows`);
  if (X.columns.length === 0) throw new MlcycleError('DATA_INVALID', `${what} has no features`);
  X.columns.forEach((c, j) => {
    if (c.length !== X.rows) throw new MlcycleError('DATA_INVALID', `${what} feature ${X.featureNames[j] ?? j + 1} has ${c.length} values for ${X.rows} rows`);
  });
  if (y.values.length !== X.rows) throw new MlcycleError('DATA_INVALID', `${what} has ${X.rows} rows but ${y.values.length} target values`);
  for (let i = 0; i < y.values.length; i++) {
    if (!Number.isFinite(y.values[i])) throw new MlcycleError('DATA_INVALID', `${what} target value ${i + 1} is not a finite number`);
  }
  if (what === 'training data' && y.task !== 'regression') {
    const seen = new Set(y.values);
    if (seen.size < 2) throw new MlcycleError('DATA_INVALID', `${what} has only one class (${y.classes?.[[...seen][0] ?? 0] ?? [...seen][0]}); a classifier needs at least two`);
  }
}
