/**
 * The hand-over between the data plane and the built-in trainers: encoded features column by
 * column in typed arrays, never row objects. The data plane (ingest → snapshot → split → encode)
 * produces it; trainers, evaluation and drift consume it.
 */

/** Encoded features, column-major. */
export interface FeatureMatrix {
  /** Number of rows; every column has exactly this length. */
  readonly rows: number;
  /** One name per feature column: the source column, or `column=value` for a one-hot feature. */
  readonly featureNames: readonly string[];
  /** One array per feature, `columns[j][i]` = feature j of row i. NaN marks a missing value. */
  readonly columns: readonly Float64Array[];
}

/** What a target column is trained as. */
export type TaskType = 'binary' | 'multiclass' | 'regression';

/**
 * Encoded target: binary → 0/1, multiclass → class index 0..k-1 (into `classes`), regression →
 * the value. Always finite (rows with a missing target never reach a trainer).
 */
export interface EncodedTarget {
  readonly task: TaskType;
  readonly values: Float64Array;
  /** Class labels as they appear in the data, in index order (binary: [negative, positive]). */
  readonly classes?: readonly string[];
}

/** Rows of one split, ready for a trainer. */
export interface LabeledMatrix {
  readonly X: FeatureMatrix;
  readonly y: EncodedTarget;
}
