/**
 * Seeded synthetic data sets for each task type, as FeatureMatrix/EncodedTarget: a linear signal,
 * an interaction the trees can pick up, noise, and optionally missing values. Shared by the
 * trainer tests and the scikit-learn bench (which writes the same arrays to disk for Python).
 */
import type { EncodedTarget, FeatureMatrix, LabeledMatrix, TaskType } from '../../src/training/feature-matrix';

export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface SyntheticOptions {
  task: TaskType;
  rows: number;
  features?: number;
  seed?: number;
  /** Fraction of feature values set to NaN. */
  missing?: number;
  /** Binary: shift the intercept so that about this fraction is positive. */
  positiveRate?: number;
  classes?: number;
}

export function synthetic(opts: SyntheticOptions): LabeledMatrix {
  const n = opts.rows;
  const d = opts.features ?? 8;
  const rng = mulberry32(opts.seed ?? 1);
  const columns = Array.from({ length: d }, () => new Float64Array(n));
  const k = opts.task === 'multiclass' ? (opts.classes ?? 3) : 1;
  const weights = Array.from({ length: k }, () => Array.from({ length: d }, (_, j) => (j < 6 ? gaussian(rng) : 0.1 * gaussian(rng))));
  const values = new Float64Array(n);
  const bias = opts.positiveRate !== undefined ? Math.log(opts.positiveRate / (1 - opts.positiveRate)) - 0.6 : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) (columns[j] as Float64Array)[i] = gaussian(rng);
    const x = (j: number) => (columns[j] as Float64Array)[i] as number;
    const inter = d >= 4 ? 0.8 * x(2) * x(3) : 0;
    if (opts.task === 'multiclass') {
      let best = 0;
      let bestZ = -Infinity;
      for (let c = 0; c < k; c++) {
        let z = 0.5 * gaussian(rng) + (c === 0 ? inter : 0);
        for (let j = 0; j < d; j++) z += (weights[c] as number[])[j]! * x(j);
        if (z > bestZ) {
          bestZ = z;
          best = c;
        }
      }
      values[i] = best;
    } else {
      let z = inter + 0.7 * gaussian(rng);
      for (let j = 0; j < d; j++) z += (weights[0] as number[])[j]! * x(j);
      if (opts.task === 'regression') values[i] = 10 + 3 * z;
      else values[i] = z + bias + (opts.positiveRate !== undefined ? 0.8 * gaussian(rng) : 0) > 0 ? 1 : 0;
    }
  }
  if (opts.missing) {
    for (const col of columns) for (let i = 0; i < n; i++) if (rng() < (opts.missing)) col[i] = Number.NaN;
  }
  const X: FeatureMatrix = { rows: n, featureNames: Array.from({ length: d }, (_, j) => `x${j}`), columns };
  const classes = opts.task === 'binary' ? ['no', 'yes'] : opts.task === 'multiclass' ? Array.from({ length: k }, (_, c) => `c${c}`) : undefined;
  const y: EncodedTarget = { task: opts.task, values, ...(classes ? { classes } : {}) };
  return { X, y };
}

/** Rows [from, to) of a labelled matrix (copies). */
export function sliceRows(data: LabeledMatrix, from: number, to: number): LabeledMatrix {
  return {
    X: { rows: to - from, featureNames: data.X.featureNames, columns: data.X.columns.map((c) => c.slice(from, to)) },
    y: { ...data.y, values: data.y.values.slice(from, to) },
  };
}
