import { describe, expect, it } from 'vitest';
import { splitIndices } from '../../src/data/split';

describe('splitIndices', () => {
  it('the same seed gives the same split; another seed another one', () => {
    const a = splitIndices(1000, { test: 0.2, seed: 42 });
    const b = splitIndices(1000, { test: 0.2, seed: 42 });
    const c = splitIndices(1000, { test: 0.2, seed: 43 });
    expect(Array.from(b.test)).toEqual(Array.from(a.test));
    expect(Array.from(b.train)).toEqual(Array.from(a.train));
    expect(Array.from(c.test)).not.toEqual(Array.from(a.test));
  });

  it('exactly round(n * test) test rows; train and test partition 0..n-1, ascending', () => {
    const s = splitIndices(1001, { test: 0.25, seed: 1 });
    expect(s.test.length).toBe(250);
    expect(s.train.length).toBe(751);
    const all = [...s.train, ...s.test].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    expect([...s.test]).toEqual([...s.test].sort((x, y) => x - y));
    for (const i of s.test) expect(s.isTest(i)).toBe(true);
    for (const i of s.train) expect(s.isTest(i)).toBe(false);
  });

  it('is a random draw, not a block of rows', () => {
    const s = splitIndices(10_000, { test: 0.2, seed: 5 });
    const firstHalf = [...s.test].filter((i) => i < 5000).length;
    expect(firstHalf).toBeGreaterThan(900);
    expect(firstHalf).toBeLessThan(1100);
  });

  it('stratified: each class keeps its share in test', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? true : i % 10 === 1 ? null : false)); // 10% true, 10% missing
    const s = splitIndices(1000, { test: 0.2, seed: 9, stratify: labels });
    expect(s.test.length).toBe(200);
    const inTest = (pred: (v: unknown) => boolean) => [...s.test].filter((i) => pred(labels[i])).length;
    expect(inTest((v) => v === true)).toBe(20);
    expect(inTest((v) => v === null)).toBe(20);
    expect(inTest((v) => v === false)).toBe(160);
    const again = splitIndices(1000, { test: 0.2, seed: 9, stratify: labels });
    expect([...again.test]).toEqual([...s.test]);
  });

  it('stratified with uneven groups still totals round(n * test)', () => {
    const labels = ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'c', 'c', 'c', 'c'];
    const s = splitIndices(labels.length, { test: 0.3, seed: 2, stratify: labels });
    expect(s.test.length).toBe(3); // round(3.3)
  });

  it('small and edge inputs', () => {
    expect(splitIndices(0, { test: 0.2, seed: 1 }).test.length).toBe(0);
    expect(splitIndices(1, { test: 0.2, seed: 1 }).train.length).toBe(1);
    const two = splitIndices(2, { test: 0.01, seed: 1 });
    expect([two.train.length, two.test.length]).toEqual([1, 1]);
    expect(() => splitIndices(10, { test: 1, seed: 1 })).toThrow(RangeError);
    expect(() => splitIndices(10, { test: 0.2, seed: 1, stratify: [1, 2] })).toThrow(/2 labels for 10 rows/);
  });
});
