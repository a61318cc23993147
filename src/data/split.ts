import seedrandom from 'seedrandom';
import { shuffleInPlace } from 'simple-statistics';

export interface SplitOptions {
  /** Fraction of rows for the test set, 0 < test < 1 (`data.split.test`). */
  test: number;
  /** `data.split.seed`: the same seed, row count and labels give the same split. */
  seed: number;
  /**
   * One label per row (e.g. the target): each label gets its share of test rows, so class balance
   * is the same in train and test. Missing labels form their own group.
   */
  stratify?: ArrayLike<unknown>;
}

export interface Split {
  /** Row indices (0-based, ascending) of the training set. */
  train: Uint32Array;
  /** Row indices (0-based, ascending) of the test set. */
  test: Uint32Array;
  /** True for the rows of the test set, by row index. */
  isTest(rowIndex: number): boolean;
}

/**
 * Deterministic seeded train/test split of rows 0..n-1: a seeded shuffle (seedrandom) picks exactly
 * round(n * test) test rows — at least one of each set when n >= 2. With `stratify` the test rows
 * are allotted to the label groups in proportion to their sizes (largest remainder), then drawn
 * within each group.
 */
export function splitIndices(n: number, options: SplitOptions): Split {
  const { test, seed, stratify } = options;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`row count must be a non-negative integer, got ${n}`);
  if (!(test > 0 && test < 1)) throw new RangeError(`test fraction must be between 0 and 1, got ${test}`);
  if (stratify && stratify.length !== n) throw new RangeError(`stratify has ${stratify.length} labels for ${n} rows`);

  let testCount = Math.round(n * test);
  if (n >= 2) testCount = Math.min(n - 1, Math.max(1, testCount));

  const groups: number[][] = [];
  if (stratify) {
    const byLabel = new Map<unknown, number[]>();
    for (let i = 0; i < n; i++) {
      const raw = stratify[i];
      const key = raw === undefined ? null : raw;
      let g = byLabel.get(key);
      if (!g) byLabel.set(key, (g = []));
      g.push(i);
    }
    groups.push(...byLabel.values()); // first-appearance order: fixed by the data, so deterministic
  } else {
    groups.push(Array.from({ length: n }, (_, i) => i));
  }

  const quotas = allot(groups.map((g) => g.length), testCount);
  const rng = seedrandom(`mlcycle-split:${seed}`);
  const mask = new Uint8Array(n);
  for (const [k, group] of groups.entries()) {
    shuffleInPlace(group, rng);
    const q = quotas[k]!;
    for (let i = 0; i < q; i++) mask[group[i]!] = 1;
  }

  const testIdx = new Uint32Array(testCount);
  const trainIdx = new Uint32Array(n - testCount);
  let t = 0;
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i]) testIdx[t++] = i;
    else trainIdx[r++] = i;
  }
  return { train: trainIdx, test: testIdx, isTest: (rowIndex) => mask[rowIndex] === 1 };
}

/** Splits `total` into integer parts proportional to `sizes` (largest remainder; ties to the earlier group). */
function allot(sizes: readonly number[], total: number): number[] {
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sum === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (s * total) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (parts[i]! < sizes[i]!) {
      parts[i]!++;
      left--;
    }
  }
  return parts;
}
