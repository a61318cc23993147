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

// ---------------------------------------------------------------------------------------------
// Three-way split of the canonical snapshot (train / validation / test)

export const SPLIT_TRAIN = 0;
export const SPLIT_VALIDATION = 1;
export const SPLIT_TEST = 2;

export interface ThreeWaySplitOptions {
  /** Fraction of the rows for the test set (`data.split.test`). */
  test: number;
  /** Fraction of the remaining (non-test) rows for the validation set (`data.split.validation`). */
  validation: number;
  seed: number;
  /** One label per row: each label's rows are split in the same proportions (`stratify: true`). */
  stratify?: ArrayLike<number>;
  /** One group key per row: all rows of a group land in the same set (`groupBy`). */
  groups?: readonly (string | null)[];
}

/** murmur3's 32-bit finalizer: a bijective mix with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The split key of a row: `fmix32(imul(rowIndex, 0x9E3779B1) ^ fmix32(seed))`, where rowIndex is the
 * row's 0-based index in the canonical snapshot (= its data row in the source, in any format). A
 * group's key hashes its value (FNV-1a of the UTF-16 code units) instead of the row index.
 */
export function splitKey(rowIndex: number, seed: number): number {
  return fmix32(Math.imul(rowIndex >>> 0, 0x9e3779b1) ^ fmix32(seed | 0));
}

function groupKey(value: string, seed: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return fmix32(h ^ fmix32(seed | 0));
}

/** Sorts items by (key, index) with one native 64-bit sort. */
function orderByKey(indices: ArrayLike<number>, key: (i: number) => number): number[] {
  const packed = new BigUint64Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    packed[k] = (BigInt(key(i)) << 32n) | BigInt(i);
  }
  packed.sort();
  const out = new Array<number>(packed.length);
  for (let k = 0; k < packed.length; k++) out[k] = Number(packed[k]! & 0xffffffffn);
  return out;
}

/**
 * Assigns each row (by its canonical row index) to train, validation or test. Rows are ordered by
 * their split key and the first round(n·test) go to test, the next round((n - test)·validation) to
 * validation, the rest to train — in each label's rows separately with `stratify`, and by whole
 * groups with `groups` (a group goes to test while test holds fewer rows than its share). The same
 * seed and rows give the same split whatever the source format. With 2 rows or more, train and
 * test each get at least one row (groups permitting).
 */
export function assignSplits(rowIndex: ArrayLike<number>, options: ThreeWaySplitOptions): Uint8Array {
  const n = rowIndex.length;
  const { test, validation, seed } = options;
  if (!(test > 0 && test < 1)) throw new RangeError(`test fraction must be between 0 and 1, got ${test}`);
  if (!(validation >= 0 && validation < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${validation}`);
  const out = new Uint8Array(n);
  if (options.groups) {
    const groups = options.groups;
    const members = new Map<string | null, number[]>();
    for (let i = 0; i < n; i++) {
      const g = groups[i] ?? null;
      let m = members.get(g);
      if (!m) members.set(g, (m = []));
      m.push(i);
    }
    const names = [...members.keys()];
    const order = orderByKey(Array.from(names.keys()), (k) => groupKey(names[k] === null ? '\u0000null' : String(names[k]), seed));
    const testTarget = Math.round(n * test);
    const valTarget = Math.round((n - testTarget) * validation);
    let inTest = 0;
    let inVal = 0;
    for (const k of order) {
      const rows = members.get(names[k]!)!;
      let set = SPLIT_TRAIN;
      if (inTest < testTarget) set = SPLIT_TEST;
      else if (inVal < valTarget) set = SPLIT_VALIDATION;
      if (set === SPLIT_TEST) inTest += rows.length;
      if (set === SPLIT_VALIDATION) inVal += rows.length;
      for (const i of rows) out[i] = set;
    }
    return out;
  }
  const strata = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const label = options.stratify ? options.stratify[i]! : 0;
    let s = strata.get(label);
    if (!s) strata.set(label, (s = []));
    s.push(i);
  }
  for (const members of strata.values()) {
    const m = members.length;
    let t = Math.round(m * test);
    if (m >= 2) t = Math.min(m - 1, Math.max(1, t));
    const v = Math.round((m - t) * validation);
    const order = orderByKey(members, (i) => splitKey(rowIndex[i]!, seed));
    for (let k = 0; k < order.length; k++) out[order[k]!] = k < t ? SPLIT_TEST : k < t + v ? SPLIT_VALIDATION : SPLIT_TRAIN;
  }
  return out;
}
