import { describe, expect, it } from 'vitest';
import { numberFeatureStats, type TrainerFeature } from '../../activities/command-data';
import type { LoadedTable } from '../../src/data/columnar-load';

describe('numberFeatureStats', () => {
  const features: TrainerFeature[] = [
    { name: 'x', type: 'number' },
    { name: 'big', type: 'number' },
    { name: 'empty', type: 'number' },
    { name: 'flag', type: 'boolean' },
  ];

  it('gives the population mean and std of present finite values, none for an empty column, nothing for non-numbers', () => {
    // Loaded columns (missing = NaN); row 4 is not a training row and must not count.
    const number = { type: 'number', required: false } as const;
    const table: LoadedTable = {
      rows: 5,
      rowIndex: Float64Array.from([0, 1, 2, 3, 4]),
      columns: [
        { name: 'x', rule: number, values: Float64Array.from([1, 2, Number.NaN, 6, 1000]) },
        { name: 'big', rule: number, values: Float64Array.from([1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 0]) },
        { name: 'empty', rule: number, values: Float64Array.from([Number.NaN, Number.NaN, Number.NaN, Number.NaN, 7]) },
        { name: 'flag', rule: { type: 'boolean', required: false }, values: Float64Array.from([1, 0, Number.NaN, Number.NaN, 1]) },
      ],
      target: new Float64Array(5),
      droppedMissingTarget: 0,
    };
    const stats = numberFeatureStats(table, Uint32Array.from([0, 1, 2, 3]), features);
    expect(Object.keys(stats).sort()).toEqual(['big', 'x']);
    expect(stats.x!.mean).toBe(3);
    expect(stats.x!.std).toBeCloseTo(Math.sqrt((4 + 1 + 9) / 3), 12);
    // A large mean with a small spread: a naive sum of squares would lose the spread entirely.
    expect(stats.big!.mean).toBe(1e9 + 2.5);
    expect(stats.big!.std).toBeCloseTo(Math.sqrt(1.25), 9);
  });
});
