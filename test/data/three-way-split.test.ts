import { describe, expect, it } from 'vitest';
import { assignSplits, splitKey, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '../../src/data/split';

const range = (n: number) => Float64Array.from({ length: n }, (_, i) => i);
const count = (a: Uint8Array, s: number) => a.reduce((k, v) => k + (v === s ? 1 : 0), 0);

describe('assignSplits (train / validation / test by the hash of the snapshot row index)', () => {
  it('gives exact proportions: test of all rows, validation of the rest', () => {
    const a = assignSplits(range(1000), { test: 0.2, validation: 0.1, seed: 42 });
    expect(count(a, SPLIT_TEST)).toBe(200);
    expect(count(a, SPLIT_VALIDATION)).toBe(80);
    expect(count(a, SPLIT_TRAIN)).toBe(720);
  });

  it('is deterministic by seed and depends on it', () => {
    const a = assignSplits(range(500), { test: 0.2, validation: 0.1, seed: 7 });
    expect(assignSplits(range(500), { test: 0.2, validation: 0.1, seed: 7 })).toEqual(a);
    expect(assignSplits(range(500), { test: 0.2, validation: 0.1, seed: 8 })).not.toEqual(a);
  });

  it('a row keeps its set when rows without a target are left out around it (the key is the row index)', () => {
    const all = range(1000);
    const full = assignSplits(all, { test: 0.2, validation: 0, seed: 1 });
    // The key order is the same; only the cut moves by the rows removed.
    const order = Array.from(all).sort((x, y) => splitKey(x, 1) - splitKey(y, 1) || x - y);
    expect(order.slice(0, 200).every((i) => full[i] === SPLIT_TEST)).toBe(true);
  });

  it('stratifies: each class split in the same proportions', () => {
    const labels = Float64Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
    const a = assignSplits(range(1000), { test: 0.2, validation: 0.1, seed: 3, stratify: labels });
    let positivesInTest = 0;
    for (let i = 0; i < 1000; i++) if (labels[i] === 1 && a[i] === SPLIT_TEST) positivesInTest++;
    expect(positivesInTest).toBe(20);
  });

  it('groupBy: the rows of a group never straddle sets', () => {
    const groups = Array.from({ length: 600 }, (_, i) => `user-${i % 60}`);
    const a = assignSplits(range(600), { test: 0.2, validation: 0.1, seed: 5, groups });
    const setOf = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const g = groups[i]!;
      if (setOf.has(g)) expect(a[i]).toBe(setOf.get(g));
      else setOf.set(g, a[i]!);
    }
    expect(count(a, SPLIT_TEST)).toBe(120);
    expect(count(a, SPLIT_VALIDATION)).toBeGreaterThan(0);
  });
});
