import { describe, expect, it } from 'vitest';
import { numberFeatureStats, type TrainerFeature } from '../../activities/command-data';

describe('numberFeatureStats', () => {
  const features: TrainerFeature[] = [
    { name: 'x', type: 'number' },
    { name: 'big', type: 'number' },
    { name: 'empty', type: 'number' },
    { name: 'flag', type: 'boolean' },
  ];

  it('gives the population mean and std of present finite values, none for an empty column, nothing for non-numbers', () => {
    const rows = [
      { x: 1, big: 1e9 + 1, empty: null, flag: true },
      { x: 2, big: 1e9 + 2, flag: false },
      { x: null, big: 1e9 + 3 },
      { x: 6, big: 1e9 + 4, empty: Number.NaN },
    ];
    const stats = numberFeatureStats(rows, features);
    expect(Object.keys(stats).sort()).toEqual(['big', 'x']);
    expect(stats.x!.mean).toBe(3);
    expect(stats.x!.std).toBeCloseTo(Math.sqrt((4 + 1 + 9) / 3), 12);
    // A large mean with a small spread: a naive sum of squares would lose the spread entirely.
    expect(stats.big!.mean).toBe(1e9 + 2.5);
    expect(stats.big!.std).toBeCloseTo(Math.sqrt(1.25), 9);
  });
});
