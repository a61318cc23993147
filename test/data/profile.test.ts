import { describe, expect, it } from 'vitest';
import type { DataSchema } from '../../src/data/coerce';
import { coerceRow } from '../../src/data/coerce';
import { createProfiler, DatasetProfileSchema, histogram, parseDatasetProfile, type NumberColumnProfile, type TextColumnProfile } from '../../src/data/profile';

const schema: DataSchema = {
  x: { type: 'number', required: true },
  c: { type: 'category', values: ['a', 'b', 'c'], required: true },
  flag: { type: 'boolean', required: true },
};

function profileOf(rows: Record<string, unknown>[], s: DataSchema = schema, options = {}) {
  const p = createProfiler(s, options);
  for (const raw of rows) p.add(coerceRow(raw, s).row, raw);
  return p.finish();
}

describe('numeric columns', () => {
  // Hand-computed: mean 5, sum of squared deviations 32, sample std sqrt(32/7).
  const xs = [5, 2, 9, 4, 4, 7, 4, 5];
  const rows: Record<string, unknown>[] = [...xs.map((x) => ({ x: String(x) })), { x: '' }, { x: 'NA' }, { c: 'a' }];
  const profile = profileOf(rows, schema, { histogramBins: 4 });
  const x = profile.columns.x as NumberColumnProfile;

  it('counts rows, presence and missing values', () => {
    expect(profile.rowCount).toBe(11);
    expect(x).toMatchObject({ count: 11, present: 10, missing: 3 });
  });

  it('min, max, mean and sample std', () => {
    expect(x.stats!.min).toBe(2);
    expect(x.stats!.max).toBe(9);
    expect(x.stats!.mean).toBeCloseTo(5, 12);
    expect(x.stats!.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  it('quantiles by linear interpolation (numpy default) over sorted [2,4,4,4,5,5,7,9]', () => {
    // index = (n - 1) * p = 7p
    const q = x.stats!.quantiles;
    expect(q.p1).toBeCloseTo(2.14, 12); // 2 + 0.07 * (4 - 2)
    expect(q.p5).toBeCloseTo(2.7, 12); // 2 + 0.35 * 2
    expect(q.p25).toBeCloseTo(4, 12); // idx 1.75, between 4 and 4
    expect(q.p50).toBeCloseTo(4.5, 12); // idx 3.5, between 4 and 5
    expect(q.p75).toBeCloseTo(5.5, 12); // idx 5.25: 5 + 0.25 * 2
    expect(q.p95).toBeCloseTo(8.3, 12); // idx 6.65: 7 + 0.65 * 2
    expect(q.p99).toBeCloseTo(8.86, 12); // idx 6.93: 7 + 0.93 * 2
    expect(x.stats!.percentiles).toHaveLength(101);
    expect(x.stats!.percentiles[0]).toBe(2);
    expect(x.stats!.percentiles[50]).toBeCloseTo(4.5, 12);
    expect(x.stats!.percentiles[100]).toBe(9);
    expect(x.stats!.sampled).toBe(false);
    expect(x.stats!.sampleSize).toBe(8);
  });

  it('an equal-width histogram between min and max, max in the last bin', () => {
    // width 1.75: [2, 3.75) [3.75, 5.5) [5.5, 7.25) [7.25, 9]
    expect(x.stats!.histogram).toEqual({ edges: [2, 3.75, 5.5, 7.25, 9], counts: [1, 5, 1, 1] });
    expect(histogram([3, 3], 3, 3, 20)).toEqual({ edges: [3, 3], counts: [2] });
  });

  it('a single value has std 0; a column without values has no stats', () => {
    const p = profileOf([{ x: '3' }, { x: '' }]);
    expect((p.columns.x as NumberColumnProfile).stats).toMatchObject({ min: 3, max: 3, mean: 3, std: 0 });
    const empty = profileOf([{ x: '' }, { c: 'a' }]);
    expect(empty.columns.x).toMatchObject({ present: 1, missing: 2, stats: null });
  });

  it('counts rule violations with the first row', () => {
    const s: DataSchema = { v: { type: 'number', min: 0, max: 10, integer: true, required: true } };
    const p = profileOf([{ v: -1 }, { v: 3.5 }, { v: 12 }, { v: 5 }, { v: -2 }], s);
    expect(p.columns.v).toMatchObject({
      belowMin: { limit: 0, count: 2, firstRow: 1 },
      aboveMax: { limit: 10, count: 1, firstRow: 3 },
      nonInteger: { count: 1, firstRow: 2 },
    });
    // Columns without those rules have no counters.
    expect((profileOf([{ x: 1 }]).columns.x as NumberColumnProfile).belowMin).toBeUndefined();
  });

  it('past maxExactValues the quantiles come from a seeded reservoir sample; moments stay exact', () => {
    const s: DataSchema = { v: { type: 'number', required: true } };
    const rows = Array.from({ length: 1000 }, (_, i) => ({ v: i + 1 }));
    const a = profileOf(rows, s, { maxExactValues: 100, seed: 3 }).columns.v as NumberColumnProfile;
    const b = profileOf(rows, s, { maxExactValues: 100, seed: 3 }).columns.v as NumberColumnProfile;
    expect(a.stats).toMatchObject({ min: 1, max: 1000, sampled: true, sampleSize: 100 });
    expect(a.stats!.mean).toBeCloseTo(500.5, 9);
    expect(a.stats!.std).toBeCloseTo(Math.sqrt((1000 * 1001) / 12), 6); // var of 1..n = n(n+1)/12
    expect(a.stats!.quantiles.p50).toBeGreaterThan(350);
    expect(a.stats!.quantiles.p50).toBeLessThan(650);
    // A uniform sample: not just the first 100 values.
    expect(a.stats!.percentiles[100]).toBeGreaterThan(900);
    expect(b.stats).toEqual(a.stats);
  });
});

describe('category, boolean and string columns', () => {
  const rows = [
    { c: 'a', flag: 'true' },
    { c: 'b', flag: 'false' },
    { c: 'a', flag: 'yes' },
    { c: 'c', flag: '' },
    { c: 'a' },
    { c: 'b' },
    { c: '' },
    { c: 'zzz' },
  ];
  const profile = profileOf(rows);

  it('frequencies, most frequent first, ties by value; distinct count', () => {
    expect(profile.columns.c).toMatchObject({
      type: 'category',
      count: 8,
      present: 8,
      missing: 1,
      distinct: 4,
      distinctCapped: false,
      top: [
        { value: 'a', count: 3 },
        { value: 'b', count: 2 },
        { value: 'c', count: 1 },
        { value: 'zzz', count: 1 },
      ],
      otherCount: 0,
    });
  });

  it('values outside the declared list, with the first row', () => {
    expect((profile.columns.c as TextColumnProfile).unexpected).toEqual({ count: 1, firstRow: 8, values: [{ value: 'zzz', count: 1 }] });
  });

  it('booleans count as "true"/"false"; absent counts as missing', () => {
    expect(profile.columns.flag).toMatchObject({
      type: 'boolean',
      present: 4,
      missing: 5,
      top: [
        { value: 'true', count: 2 },
        { value: 'false', count: 1 },
      ],
    });
  });

  it('top is cut at topValues, the rest is "other"', () => {
    const p = profileOf(rows, schema, { topValues: 2 });
    expect(p.columns.c).toMatchObject({ distinct: 4, otherCount: 2, top: [{ value: 'a' }, { value: 'b' }] });
  });

  it('distinct counting stops at maxDistinct for high-cardinality columns', () => {
    const s: DataSchema = { id: { type: 'string', required: true } };
    const p = profileOf([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'c' }, { id: 'a' }], s, { maxDistinct: 2 });
    expect(p.columns.id).toMatchObject({ distinct: 2, distinctCapped: true, top: [{ value: 'a', count: 2 }, { value: 'b', count: 1 }], otherCount: 2 });
  });
});

describe('the profile', () => {
  it('reports columns outside the schema, sorted', () => {
    const p = profileOf([{ x: 1, zeta: 1 }, { x: 2, alpha: 'y' }, { x: 3, zeta: 2 }]);
    expect(p.extraColumns).toEqual(['alpha', 'zeta']);
  });

  it('is plain JSON that its zod schema reads back unchanged', () => {
    const p = profileOf([{ x: 1.5, c: 'a', flag: true }, { x: -2, c: 'q', flag: 'no' }, { x: '' }]);
    const back = parseDatasetProfile(JSON.parse(JSON.stringify(p)));
    expect(back).toEqual(p);
    expect(DatasetProfileSchema.safeParse({ ...p, rowCount: -1 }).success).toBe(false);
  });

  it('an empty dataset', () => {
    const p = profileOf([]);
    expect(p.rowCount).toBe(0);
    expect(p.columns.x).toMatchObject({ count: 0, present: 0, missing: 0, stats: null });
    expect(parseDatasetProfile(p)).toEqual(p);
  });
});
