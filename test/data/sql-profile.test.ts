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
// batched SQL (one scan for bounds and rules, one for moments and histograms or a GROUP BY per column for
// the histograms of large snapshots, groups kept once) is
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
  });
});
