/**
 * The dataset profile (profile.ts's JSON shape) computed by the engine on the Parquet snapshot,
 * column by column: counts and moments by aggregates, quantiles by `quantile_cont` (exact up to
 * `maxExactValues` rows (100,000); above, from a seeded uniform sample of about that many rows,
 * reported as `sampled`), equal-width histograms by an aggregate or, with many rows, a GROUP BY per column,
 * category frequencies by GROUP BY.
 */
import type { DataSchema } from './coerce';
import { ident, lit, type Engine } from './engine';
import type { ColumnProfile, DatasetProfile, NumberColumnProfile, NumericStats, RuleViolation, TextColumnProfile, ValueCount } from './profile';

export interface SqlProfileOptions {
  /**
   * Rows whose values give exact quantiles; above, a seeded uniform sample of about this many rows
   * (each row kept by a hash of its row number; quantile error about ±0.3 percentage points of rank
   * at 100,000). Default 100,000.
   */
  maxExactValues?: number;
  histogramBins?: number;
  /**
   * How histograms are counted: 'aggregate' in the batched moments scan (the engine's `histogram`),
   * 'grouped' by one GROUP BY per column; 'auto' (default) groups from GROUPED_HISTOGRAM_ROWS rows
   * on. Both give the same counts; the choice is exposed for tests.
   */
  histogramMethod?: 'auto' | 'aggregate' | 'grouped';
  /** Most values kept per column in `top` (the profile's category cardinality limit). */
  maxCategories: number;
  /** Columns of the data not in the schema (reported). */
  extraColumns: readonly string[];
}

/** Rows from which histograms are counted by a GROUP BY per column (see SqlProfileOptions.histogramMethod). */
export const GROUPED_HISTOGRAM_ROWS = 1_000_000;

const LEVELS = Array.from({ length: 101 }, (_, i) => i / 100);

/** A read of the snapshot with a 1-based row number column `__row`. */
export function snapshotSource(snapshotPath: string): string {
  return `(SELECT *, file_row_number + 1 AS __row FROM read_parquet(${lit(snapshotPath)}, file_row_number = true))`;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

function violation(limit: number | undefined, count: unknown, firstRow: unknown): RuleViolation {
  return { ...(limit !== undefined ? { limit } : {}), count: Number(count ?? 0), firstRow: num(firstRow) };
}

type NumberRule = { min?: number; max?: number; integer?: boolean };

/** Columns per aggregate statement: keeps SQL text and per-query state small on very wide tables. */
const COLUMN_BATCH = 100;

/**
 * Profiles of number columns in two scans of the snapshot for all of them (counts, bounds and rule
 * violations; then moments, and histograms, which need the bounds, in the same scan) or, with many
 * rows, in one scan (counts, bounds, rule violations and moments) and one grouped read per column
 * for the histograms; plus one sort of the quantile sample per column. `plain` reads the snapshot without the
 * row-number column `src` adds (only rule violations need it).
 */
async function numberProfiles(
  engine: Engine,
  src: string,
  plain: string,
  sample: string,
  columns: ReadonlyArray<{ name: string; rule: NumberRule }>,
  rows: number,
  bins: number,
  grouped: boolean,
): Promise<Map<string, NumberColumnProfile>> {
  const out = new Map<string, NumberColumnProfile>();
  for (let i = 0; i < columns.length; i += COLUMN_BATCH) {
    engine.check();
    const batch = columns.slice(i, i + COLUMN_BATCH);
    const aggs = batch.flatMap(({ name, rule }, j) => {
      const c = ident(name);
      const a = [`count(${c})::DOUBLE AS n${j}`, `min(${c}) AS mn${j}`, `max(${c}) AS mx${j}`];
      if (rule.min !== undefined) a.push(`count(*) FILTER (WHERE ${c} < ${rule.min})::DOUBLE AS bm${j}`, `min(__row) FILTER (WHERE ${c} < ${rule.min}) AS bmr${j}`);
      if (rule.max !== undefined) a.push(`count(*) FILTER (WHERE ${c} > ${rule.max})::DOUBLE AS am${j}`, `min(__row) FILTER (WHERE ${c} > ${rule.max}) AS amr${j}`);
      if (rule.integer) a.push(`count(*) FILTER (WHERE ${c} <> round(${c}))::DOUBLE AS ni${j}`, `min(__row) FILTER (WHERE ${c} <> round(${c})) AS nir${j}`);
      return a;
    });
    // Many rows: the moments join this scan (only the histograms, counted after it, need the
    // bounds), one read of the snapshot fewer (1.6 s of 8.6 at 10M × 20). A column whose squares
    // overflow makes the engine refuse the scan, or shows in its bounds: its batch then takes the
    // two-scan path below, with scaled moments.
    let merged: Record<string, unknown> | undefined;
    if (grouped) {
      const needsRow = batch.some(({ rule }) => rule.min !== undefined || rule.max !== undefined || rule.integer === true);
      const moments = batch.flatMap(({ name }, j) => {
        const c = ident(name);
        return [`avg(${c}) AS mean${j}`, `coalesce(stddev_samp(${c}), 0) AS sd${j}`];
      });
      try {
        merged = (await engine.all(`SELECT ${[...aggs, ...moments].join(', ')} FROM ${needsRow ? src : plain}`)).getRowObjectsJson()[0]!;
      } catch (err) {
        if ((err as Error).name === 'EngineAborted') throw err;
      }
    }
    const r = merged ?? (await engine.all(`SELECT ${aggs.join(', ')} FROM ${src}`)).getRowObjectsJson()[0]!;
    // Squares of values beyond ~1e154 overflow (the engine refuses them): such a column's moments
    // are computed on values scaled down by a power of two (exact) and scaled back, saturating.
    const bounds = batch.map((_, j) => {
      const n = Number(r[`n${j}`]);
      const min = Number(r[`mn${j}`]);
      const max = Number(r[`mx${j}`]);
      const maxAbs = Math.max(Math.abs(min), Math.abs(max));
      const scale = maxAbs > 2 ** 480 ? 2 ** (Math.ceil(Math.log2(maxAbs)) - 480) : 1;
      return { n, min, max, scale, lo: min / scale, width: (max / scale - min / scale) / bins };
    });
    const bin = (c: string, b: (typeof bounds)[number]) => `least(${bins - 1}, floor((${c} / ${b.scale} - ${b.lo}) / ${b.width}))::INTEGER`;
    const second = batch.flatMap(({ name }, j) => {
      const b = bounds[j]!;
      if (b.n === 0) return [];
      const c = ident(name);
      const m = [`avg(${c} / ${b.scale}) AS mean${j}`, `coalesce(stddev_samp(${c} / ${b.scale}), 0) AS sd${j}`];
      if (!grouped && b.max > b.min) m.push(`histogram(${bin(c, b)}) FILTER (WHERE ${c} IS NOT NULL) AS h${j}`);
      return m;
    });
    const m =
      merged && bounds.every((b) => b.scale === 1) ? merged : second.length > 0 ? (await engine.all(`SELECT ${second.join(', ')} FROM ${plain}`)).getRowObjectsJson()[0]! : {};
    // Many rows: histograms by one GROUP BY per column (the engine's small-integer grouping), not
    // the `histogram` aggregate in the scan above (2.0 s instead of 3.5 s for 17 columns × 10M
    // rows). Few rows: one query per column would cost more than the aggregate (wide files).
    const hists = new Map<number, unknown>();
    for (const [j, { name }] of batch.entries()) {
      const b = bounds[j]!;
      if (b.n === 0 || !(b.max > b.min)) continue;
      if (!grouped) {
        hists.set(j, m[`h${j}`]);
        continue;
      }
      engine.check();
      const c = ident(name);
      const counted = await engine.all(`SELECT ${bin(c, b)} AS key, count(*)::DOUBLE AS value FROM ${plain} WHERE ${c} IS NOT NULL GROUP BY 1`);
      hists.set(j, counted.getRowObjectsJson());
    }
    for (const [j, { name, rule }] of batch.entries()) {
      const b = bounds[j]!;
      const profile: NumberColumnProfile = { type: 'number', count: rows, present: rows, missing: rows - b.n, stats: null };
      if (rule.min !== undefined) profile.belowMin = violation(rule.min, r[`bm${j}`], r[`bmr${j}`]);
      if (rule.max !== undefined) profile.aboveMax = violation(rule.max, r[`am${j}`], r[`amr${j}`]);
      if (rule.integer) profile.nonInteger = violation(undefined, r[`ni${j}`], r[`nir${j}`]);
      if (b.n > 0) profile.stats = await numberStats(engine, src, sample, name, b, m[`mean${j}`], m[`sd${j}`], hists.get(j), bins);
      out.set(name, profile);
    }
  }
  return out;
}

/** Moments and histogram (from the batched scan) with the quantiles of one column's sample. */
async function numberStats(
  engine: Engine,
  src: string,
  sample: string,
  column: string,
  b: { n: number; min: number; max: number; scale: number; lo: number; width: number },
  mean: unknown,
  sd: unknown,
  hist: unknown,
  bins: number,
): Promise<NumericStats> {
  const c = ident(column);
  const { n, min, max, scale, lo, width } = b;
  const back = (x: number) => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, x * scale));
  // Linear interpolation between order statistics (numpy's default), from one sort: the order
  // statistics each percentile needs are picked by rank (quantile_cont with 101 levels is slower).
  const sampled = sample === src ? n : Number((await engine.all(`SELECT count(${c})::DOUBLE AS k FROM ${sample}`)).getRowObjectsJson()[0]!.k);
  // A column with so few values that the sample holds none of them: its quantiles are exact.
  const from = sampled === 0 ? src : sample;
  const k = sampled === 0 ? n : sampled;
  const ranks = new Set<number>();
  for (const p of LEVELS) {
    const h = (k - 1) * p;
    ranks.add(Math.floor(h) + 1);
    ranks.add(Math.ceil(h) + 1);
  }
  const picked = await engine.all(
    `SELECT rn, x FROM (SELECT ${c} AS x, row_number() OVER (ORDER BY ${c}) AS rn FROM ${from} WHERE ${c} IS NOT NULL) WHERE rn IN (${[...ranks].join(', ')})`,
  );
  const stat = new Map<number, number>();
  for (const row of picked.getRowObjectsJson()) stat.set(Number(row.rn), Number(row.x));
  const percentiles = LEVELS.map((p) => {
    const h = (k - 1) * p;
    const l = Math.floor(h);
    const a = stat.get(l + 1)!;
    const z = stat.get(Math.ceil(h) + 1)!;
    return a + (z - a) * (h - l);
  });
  percentiles[0] = Math.max(min, percentiles[0]!);
  percentiles[100] = Math.min(max, percentiles[100]!);
  const at = (p: number) => percentiles[Math.round(p * 100)]!;
  let histogram: NumericStats['histogram'];
  if (!(max > min)) {
    histogram = { edges: [min, max], counts: [n] };
  } else {
    const counts = new Array<number>(bins).fill(0);
    // The engine's MAP reads back as [{ key, value }].
    for (const { key, value } of (hist ?? []) as Array<{ key: unknown; value: unknown }>) counts[Math.max(0, Number(key))]! += Number(value);
    const edges: number[] = [];
    for (let i = 0; i < bins; i++) edges.push(i === 0 ? min : back(lo + i * width));
    edges.push(max);
    histogram = { edges, counts };
  }
  return {
    min,
    max,
    mean: back(Number(mean)),
    std: n > 1 ? back(Number(sd)) : 0,
    quantiles: { p1: at(0.01), p5: at(0.05), p25: at(0.25), p50: at(0.5), p75: at(0.75), p95: at(0.95), p99: at(0.99) },
    percentiles,
    histogram,
    sampled: k < n,
    sampleSize: k,
  };
}

async function textProfile(
  engine: Engine,
  src: string,
  column: string,
  type: 'category' | 'boolean' | 'string',
  allowed: readonly string[] | undefined,
  base: { count: number; present: number },
  maxCategories: number,
): Promise<TextColumnProfile> {
  const v = `${ident(column)}::VARCHAR`;
  // Grouped once: the totals, the top values and the unexpected values all read the groups.
  const grouped = '__profile_groups';
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${grouped} AS SELECT ${v} AS v, count(*)::DOUBLE AS k, min(__row) AS r FROM ${src} WHERE ${ident(column)} IS NOT NULL GROUP BY 1`);
  const totals = (await engine.all(`SELECT count(*)::DOUBLE AS d, coalesce(sum(k), 0)::DOUBLE AS n FROM ${grouped}`)).getRowObjectsJson()[0]!;
  const top: ValueCount[] = (await engine.all(`SELECT v, k FROM ${grouped} ORDER BY k DESC, v LIMIT ${maxCategories}`))
    .getRowObjectsJson()
    .map((x) => ({ value: String(x.v), count: Number(x.k) }));
  const nonMissing = Number(totals.n);
  const inTop = top.reduce((s, t) => s + t.count, 0);
  const out: TextColumnProfile = {
    type,
    count: base.count,
    present: base.present,
    missing: base.count - nonMissing,
    distinct: Number(totals.d),
    distinctCapped: false,
    top,
    otherCount: nonMissing - inTop,
  };
  if (allowed) {
    const notAllowed = `v NOT IN (${allowed.map(lit).join(', ')})`;
    const u = (await engine.all(`SELECT coalesce(sum(k), 0)::DOUBLE AS n, min(r) AS r FROM ${grouped} WHERE ${notAllowed}`)).getRowObjectsJson()[0]!;
    const values = (await engine.all(`SELECT v, k FROM ${grouped} WHERE ${notAllowed} ORDER BY k DESC, v LIMIT 100`))
      .getRowObjectsJson()
      .map((x) => ({ value: String(x.v), count: Number(x.k) }));
    out.unexpected = { count: Number(u.n), firstRow: num(u.r), values };
  }
  await engine.run(`DROP TABLE IF EXISTS ${grouped}`);
  return out;
}

/**
 * Profiles the schema's columns of a snapshot (one entry per schema column, in schema order; a
 * declared column absent from the snapshot has `present: 0`).
 */
export async function profileSnapshot(engine: Engine, snapshotPath: string, schema: DataSchema, options: SqlProfileOptions): Promise<DatasetProfile> {
  const src = snapshotSource(snapshotPath);
  const described = await engine.all(`DESCRIBE SELECT * FROM read_parquet(${lit(snapshotPath)})`);
  const inData = new Set(described.getRowObjectsJson().map((r) => String(r.column_name)));
  const rows = Number((await engine.all(`SELECT count(*)::DOUBLE AS n FROM read_parquet(${lit(snapshotPath)})`)).getRowObjectsJson()[0]!.n);
  const maxExact = Math.max(1, options.maxExactValues ?? 100_000);
  const bins = Math.max(1, options.histogramBins ?? 20);
  const numeric = Object.entries(schema).filter(([n, r]) => r.type === 'number' && inData.has(n)).map(([n]) => n);
  // Above maxExact rows, quantiles come from one sample shared by the columns: each row is in it
  // when a hash of its row number falls below maxExact / rows of the hash's range (about maxExact
  // rows, the same ones on every run and at any thread count). The reader decodes the other
  // columns only for the rows kept: half the time of a reservoir sample (0.8 vs 1.7 s at 10M × 15).
  let sample = src;
  if (rows > maxExact && numeric.length > 0) {
    const below = BigInt(Math.floor((maxExact / rows) * 2 ** 53)) << 11n;
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE __quantile_sample AS SELECT ${numeric.map(ident).join(', ')} FROM read_parquet(${lit(snapshotPath)}, file_row_number = true) WHERE hash(file_row_number) < ${below}`,
    );
    sample = '__quantile_sample';
  }
  const numbers = await numberProfiles(
    engine,
    src,
    `read_parquet(${lit(snapshotPath)})`,
    sample,
    numeric.map((name) => ({ name, rule: schema[name] as NumberRule })),
    rows,
    bins,
    options.histogramMethod === 'grouped' || (options.histogramMethod !== 'aggregate' && rows >= GROUPED_HISTOGRAM_ROWS),
  );
  const columns: Record<string, ColumnProfile> = {};
  for (const [name, rule] of Object.entries(schema)) {
    engine.check();
    if (!inData.has(name)) {
      columns[name] =
        rule.type === 'number'
          ? { type: 'number', count: rows, present: 0, missing: rows, stats: null }
          : { type: rule.type, count: rows, present: 0, missing: rows, distinct: 0, distinctCapped: false, top: [], otherCount: 0 };
      continue;
    }
    const base = { count: rows, present: rows };
    columns[name] = rule.type === 'number' ? numbers.get(name)! : await textProfile(engine, src, name, rule.type, rule.type === 'category' ? rule.values : undefined, base, options.maxCategories);
  }
  if (sample !== src) await engine.run('DROP TABLE IF EXISTS __quantile_sample');
  return { version: 1, rowCount: rows, columns, extraColumns: [...options.extraColumns].sort() };
}
