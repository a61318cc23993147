/**
 * The one place where the columnar hand-over (FeatureMatrix) meets the built-in trainers of
 * trainers.ts, which take row arrays. Trainers that take FeatureMatrix directly replace this.
 */
import type { FeatureMatrix, LabeledMatrix } from './feature-matrix';
import type { TrainingData } from './trainers';

export function matrixRows(X: FeatureMatrix): number[][] {
  const d = X.columns.length;
  const rows = new Array<number[]>(X.rows);
  for (let i = 0; i < X.rows; i++) {
    const r = new Array<number>(d);
    for (let j = 0; j < d; j++) r[j] = X.columns[j]![i]!;
    rows[i] = r;
  }
  return rows;
}

export function toTrainingData(m: LabeledMatrix): TrainingData {
  return { X: matrixRows(m.X), y: Array.from(m.y.values) };
}
