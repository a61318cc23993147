import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coerceRow, type DataSchema } from '../../src/data/coerce';
import { dataSettings, withEngine } from '../../src/data/engine';
import { convertSource, sourceFile } from '../../src/data/ingest-source';
import { createProfiler, type NumberColumnProfile, type TextColumnProfile } from '../../src/data/profile';
import { profileSnapshot } from '../../src/data/sql-profile';

// The engine's profile of a snapshot must say what the row profiler says of the same rows: the
// batched SQL (one scan for bounds and rules, one for moments and histograms; for large snapshots one
// scan for bounds, rules and moments and a GROUP BY per column for the histograms; groups kept once) is
// checked against the reference implementation on seeded data with missing values, rule
// violations, a constant column and values large enough to need scaling.
const schema: DataSchema = {
  a: { type: 'number', required: false, min: -1, max: 50 },
  b: { type: 'number', required: true, integer: true },
  k: { type: 'number', required: true },
  huge: { type: 'number', required: true },
  c: { type: 'category', values: ['x', 'y'], required: true },
  flag: { type: 'boolean', required: true },
};

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-sql-profile-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the engine profile of a snapshot', () => {
  it('equals the row profiler on the same rows: counts, rules, moments, quantiles, histograms, categories', async () => {
    const rng = seedrandom.alea('sql-profile');
    const lines = ['a,b,k,huge,c,flag'];
    const rows: Array<Record<string, string>> = [];
    for (let i = 0; i < 3000; i++) {
      const row = {
        a: rng() < 0.1 ? '' : (rng() * 60 - 5).toFixed(3),
        b: rng() < 0.05 ? (rng() * 10).toFixed(2) : String(Math.floor(rng() * 100)),
        k: '7',
        huge: (rng() * 1e200).toExponential(6),
        c: rng() < 0.02 ? 'z' : rng() < 0.5 ? 'x' : 'y',
        flag: rng() < 0.3 ? 'true' : 'false',
      };
      rows.push(row);
      lines.push(Object.values(row).join(','));
    }
    const file = path.join(dir, 't.csv');
    await fs.writeFile(file, lines.join('\n') + '\n');
    const { profile } = await convertSource({
      file: sourceFile(file, 'file://t.csv', 'csv'),
      schema,
      scratchDir: dir,
      snapshotPath: path.join(dir, 't.parquet'),
      settings: dataSettings({ MLCYCLE_DATA_THREADS: '2' }),
    });
    const reference = createProfiler(schema, { histogramBins: 20 });
    for (const row of rows) reference.add(coerceRow(row, schema).row);
    const expected = reference.finish();

    expect(profile.rowCount).toBe(3000);
    for (const name of ['a', 'b', 'k', 'huge']) {
      const got = profile.columns[name] as NumberColumnProfile;
      const want = expected.columns[name] as NumberColumnProfile;
      expect({ name, missing: got.missing, belowMin: got.belowMin, aboveMax: got.aboveMax, nonInteger: got.nonInteger }).toEqual({
        name,
        missing: want.missing,
        belowMin: want.belowMin,
        aboveMax: want.aboveMax,
        nonInteger: want.nonInteger,
      });
      const g = got.stats!;
      const w = want.stats!;
      expect(g.min).toBe(w.min);
      expect(g.max).toBe(w.max);
      expect(g.mean / w.mean).toBeCloseTo(1, 9);
      if (w.std === 0) expect(g.std).toBe(0);
      else expect(g.std / w.std).toBeCloseTo(1, 9);
      for (const [q, v] of Object.entries(w.quantiles)) expect(g.quantiles[q as keyof typeof w.quantiles], `${name} ${q}`).toBeCloseTo(v, 6);
      expect(g.histogram.counts, `${name} histogram`).toEqual(w.histogram.counts);
      expect(g.histogram.counts.reduce((s, x) => s + x, 0)).toBe(3000 - got.missing);
    }
    // The constant column has one bin holding every value.
    expect((profile.columns.k as NumberColumnProfile).stats!.histogram).toEqual({ edges: [7, 7], counts: [3000] });
    for (const name of ['c', 'flag']) {
      const got = profile.columns[name] as TextColumnProfile;
      const want = expected.columns[name] as TextColumnProfile;
      expect({ distinct: got.distinct, top: got.top, unexpected: got.unexpected, missing: got.missing }).toEqual({
        distinct: want.distinct,
        top: want.top,
        unexpected: want.unexpected,
        missing: want.missing,
      });
    }
    // Large snapshots count histograms by one GROUP BY per column: the same profile, bit for bit.
    const settings = dataSettings({ MLCYCLE_DATA_THREADS: '2' });
    const [aggregate, grouped] = await withEngine({ scratchDir: dir, settings }, async (engine) => [
      await profileSnapshot(engine, path.join(dir, 't.parquet'), schema, { maxCategories: settings.maxProfileCategories, extraColumns: [], histogramMethod: 'aggregate' }),
      await profileSnapshot(engine, path.join(dir, 't.parquet'), schema, { maxCategories: settings.maxProfileCategories, extraColumns: [], histogramMethod: 'grouped' }),
    ]);
    expect(aggregate).toEqual(profile);
    expect(grouped).toEqual(profile);

    // Without the column that needs scaling, the grouped path reads counts, bounds, rules and
    // moments in one scan (the huge column's batch above fell back to two): the same profile again.
    const { huge: _huge, ...unscaled } = schema;
    const statements: string[] = [];
    const oneScan = await withEngine({ scratchDir: dir, settings }, (engine) =>
      profileSnapshot(
        { ...engine, all: (sql: string) => (statements.push(sql), engine.all(sql)) },
        path.join(dir, 't.parquet'),
        unscaled,
        { maxCategories: settings.maxProfileCategories, extraColumns: [], histogramMethod: 'grouped' },
      ),
    );
    for (const name of Object.keys(unscaled)) expect(oneScan.columns[name], name).toEqual(profile.columns[name]);
    const momentScans = statements.filter((sql) => sql.includes('stddev_samp'));
    expect(momentScans).toHaveLength(1);
    expect(momentScans[0]).toContain('min(__row) FILTER');
  });

  it('past maxExactValues the quantiles come from a seeded uniform sample of about that many rows; everything else stays exact', async () => {
    const rng = seedrandom.alea('sql-profile-sample');
    const lines = ['v,sparse,flag'];
    for (let i = 0; i < 20_000; i++) lines.push(`${(rng() * 1000).toFixed(3)},${i === 7_777 ? '5' : ''},${rng() < 0.5}`);
    const file = path.join(dir, 'sample.csv');
    await fs.writeFile(file, lines.join('\n') + '\n');
    const sampleSchema: DataSchema = { v: { type: 'number', required: true }, sparse: { type: 'number', required: false }, flag: { type: 'boolean', required: true } };
    const snapshotPath = path.join(dir, 'sample.parquet');
    await convertSource({ file: sourceFile(file, 'file://sample.csv', 'csv'), schema: sampleSchema, scratchDir: dir, snapshotPath, settings: dataSettings() });
    const profileWith = (threads: string, maxExactValues: number) => {
      const settings = dataSettings({ MLCYCLE_DATA_THREADS: threads });
      return withEngine({ scratchDir: dir, settings }, (engine) => profileSnapshot(engine, snapshotPath, sampleSchema, { maxCategories: 100, extraColumns: [], maxExactValues }));
    };
    const exact = (await profileWith('2', 1_000_000)).columns.v as NumberColumnProfile;
    const sampled = (await profileWith('2', 2_000)).columns.v as NumberColumnProfile;
    expect(exact.stats!.sampled).toBe(false);
    expect(sampled.stats!.sampled).toBe(true);
    expect(sampled.stats!.sampleSize).toBeGreaterThan(1_700);
    expect(sampled.stats!.sampleSize).toBeLessThan(2_300);
    // Uniform on [0, 1000): 2,000 sampled values put each quantile within a few ranks' percent.
    type Quantile = keyof NonNullable<NumberColumnProfile['stats']>['quantiles'];
    for (const [q, v] of Object.entries(exact.stats!.quantiles)) expect(Math.abs(sampled.stats!.quantiles[q as Quantile] - v), q).toBeLessThan(40);
    const { quantiles: _q, percentiles: _p, sampled: _s, sampleSize: _k, ...exactRest } = exact.stats!;
    expect(sampled.stats).toMatchObject(exactRest);
    // The same rows at any thread count and on every run.
    expect((await profileWith('1', 2_000)).columns.v).toEqual(sampled);
    // A column whose few values all miss the sample gets exact quantiles.
    const sparse = (await profileWith('2', 2)).columns.sparse as NumberColumnProfile;
    expect(sparse.stats).toMatchObject({ sampled: false, sampleSize: 1, min: 5, max: 5 });
    expect(sparse.stats!.quantiles.p50).toBe(5);
  });
});
