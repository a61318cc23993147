import seedrandom from 'seedrandom';
import { quantileSorted } from 'simple-statistics';
import { z } from 'zod';
import type { DataSchema, Row } from './coerce';

// ---------------------------------------------------------------------------------------------
// The profile: plain JSON, validated with these schemas when read back (e.g. a reference profile).
// ---------------------------------------------------------------------------------------------

/** Quantiles reported by name. Linear interpolation between order statistics (numpy's default). */
export const QUANTILE_LEVELS = { p1: 0.01, p5: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;

const count = z.number().int().nonnegative();

export const NumericStatsSchema = z.object({
  min: z.number(),
  max: z.number(),
  mean: z.number(),
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: z.number(),
  quantiles: z.object({ p1: z.number(), p5: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p95: z.number(), p99: z.number() }),
  /** p0, p1, …, p100: the empirical quantile function, used for PSI against another profile. */
  percentiles: z.array(z.number()).length(101),
  /** Equal-width bins: `edges` has one more entry than `counts`; the last bin includes `max`. */
  histogram: z.object({ edges: z.array(z.number()), counts: z.array(count) }),
  /**
   * min/max/mean/std are always exact. Quantiles, percentiles and histogram are exact unless
   * `sampled`, in which case they come from a uniform reservoir sample of `sampleSize` values.
   */
  sampled: z.boolean(),
  sampleSize: count,
});
export type NumericStats = z.infer<typeof NumericStatsSchema>;

/** Rows breaking one rule of the schema the profile was built with. */
export const RuleViolationSchema = z.object({
  /** The rule's bound (min or max); absent for rules without one. */
  limit: z.number().optional(),
  count,
  /** 1-based data row of the first violation; null when none. */
  firstRow: z.number().int().positive().nullable(),
});
export type RuleViolation = z.infer<typeof RuleViolationSchema>;

export const ValueCountSchema = z.object({ value: z.string(), count });
export type ValueCount = z.infer<typeof ValueCountSchema>;

const columnBase = {
  /** Rows seen (the dataset's row count). */
  count,
  /** Rows whose record had this column at all (even if empty). 0 means the column is absent. */
  present: count,
  /** Rows with no usable value: absent, empty/NA, or a value of the wrong type. */
  missing: count,
};

export const NumberColumnProfileSchema = z.object({
  type: z.literal('number'),
  ...columnBase,
  /** null when the column has no values at all. */
  stats: NumericStatsSchema.nullable(),
  /** Present when the schema declares `min` / `max` / `integer: true`. */
  belowMin: RuleViolationSchema.optional(),
  aboveMax: RuleViolationSchema.optional(),
  nonInteger: RuleViolationSchema.optional(),
});

export const TextColumnProfileSchema = z.object({
  type: z.enum(['category', 'boolean', 'string']),
  ...columnBase,
  /** Distinct non-missing values; a lower bound when `distinctCapped`. */
  distinct: count,
  /** Counting stopped adding new values after the cap (high-cardinality column such as an id). */
  distinctCapped: z.boolean(),
  /** The most frequent values, most frequent first (ties by value). */
  top: z.array(ValueCountSchema),
  /** Non-missing values not in `top`. */
  otherCount: count,
  /** Category columns: values outside the declared list. */
  unexpected: z.object({ count, firstRow: z.number().int().positive().nullable(), values: z.array(ValueCountSchema) }).optional(),
});

export const ColumnProfileSchema = z.discriminatedUnion('type', [NumberColumnProfileSchema, TextColumnProfileSchema]);
export type NumberColumnProfile = z.infer<typeof NumberColumnProfileSchema>;
export type TextColumnProfile = z.infer<typeof TextColumnProfileSchema>;
export type ColumnProfile = z.infer<typeof ColumnProfileSchema>;

export const DatasetProfileSchema = z.object({
  version: z.literal(1),
  rowCount: count,
  /** One entry per schema column, in schema order. */
  columns: z.record(z.string(), ColumnProfileSchema),
  /** Columns found in the data but not declared in the schema (sorted). */
  extraColumns: z.array(z.string()),
});
export type DatasetProfile = z.infer<typeof DatasetProfileSchema>;

// ---------------------------------------------------------------------------------------------
// The profiler
// ---------------------------------------------------------------------------------------------

export interface ProfilerOptions {
  /**
   * Numeric values kept per column for exact quantiles (8 bytes each). Past this many, the kept
   * values become a uniform reservoir sample (Algorithm R with a seeded RNG, so a profile is
   * reproducible) and the stats say `sampled: true`. Default 2,000,000 (16 MB per column).
   */
  maxExactValues?: number;
  /** Seed of the reservoir sampler. Default 1. */
  seed?: number;
  histogramBins?: number;
  /** Entries in `top` of a category/boolean/string column. Default 50. */
  topValues?: number;
  /** Distinct values counted per text column before new ones are lumped into "other". Default 100,000. */
  maxDistinct?: number;
}

export interface Profiler {
  /**
   * Adds one coerced row (see `coerceRow`): `undefined` = column absent, `null` = missing. Pass the
   * raw record as well to have columns outside the schema reported. Returns the row's 1-based number.
   */
  add(row: Readonly<Row>, raw?: Readonly<Record<string, unknown>>): number;
  /** Rows added so far. */
  readonly rowCount: number;
  /** Computes the profile; call once, after the last `add`. */
  finish(): DatasetProfile;
}

interface Accumulator {
  add(value: unknown, rowNumber: number): boolean;
  finish(base: { count: number; present: number; missing: number }): ColumnProfile;
}

class NumberAccumulator implements Accumulator {
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  private values = new Float64Array(1024);
  private kept = 0;
  private readonly belowMin?: RuleViolation;
  private readonly aboveMax?: RuleViolation;
  private readonly nonInteger?: RuleViolation;
  private readonly minLimit: number;
  private readonly maxLimit: number;

  constructor(
    rule: { min?: number; max?: number; integer?: boolean },
    private readonly maxKept: number,
    private readonly rng: () => number,
    private readonly bins: number,
  ) {
    this.minLimit = rule.min ?? -Infinity;
    this.maxLimit = rule.max ?? Infinity;
    if (rule.min !== undefined) this.belowMin = { limit: rule.min, count: 0, firstRow: null };
    if (rule.max !== undefined) this.aboveMax = { limit: rule.max, count: 0, firstRow: null };
    if (rule.integer) this.nonInteger = { count: 0, firstRow: null };
  }

  add(value: unknown, rowNumber: number): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value)) return false;
    const n = ++this.n;
    // Welford's online mean/variance: exact and stable in one pass.
    const d = value - this.mean;
    this.mean += d / n;
    this.m2 += d * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value < this.minLimit) bump(this.belowMin!, rowNumber);
    if (value > this.maxLimit) bump(this.aboveMax!, rowNumber);
    if (this.nonInteger && !Number.isInteger(value)) bump(this.nonInteger, rowNumber);

    if (this.kept < this.maxKept) {
      if (this.kept === this.values.length) {
        const grown = new Float64Array(Math.min(this.values.length * 2, this.maxKept));
        grown.set(this.values);
        this.values = grown;
      }
      this.values[this.kept++] = value;
    } else {
      // Reservoir sampling (Algorithm R): the n-th value replaces a random slot with probability k/n.
      const j = Math.floor(this.rng() * n);
      if (j < this.maxKept) this.values[j] = value;
    }
    return true;
  }

  finish(base: { count: number; present: number; missing: number }): ColumnProfile {
    const out: NumberColumnProfile = { type: 'number', ...base, stats: null };
    if (this.belowMin) out.belowMin = this.belowMin;
    if (this.aboveMax) out.aboveMax = this.aboveMax;
    if (this.nonInteger) out.nonInteger = this.nonInteger;
    if (this.n === 0) return out;

    let sorted = this.values.subarray(0, this.kept).sort();
    this.values = new Float64Array(0);
    let mean = this.mean;
    let std = this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
    // Differences and squares of values beyond ~1e144 overflow to Infinity and NaN, which a
    // manifest (JSON) cannot hold: such a column is summarized from its kept values scaled down by
    // a power of two (exact), and the results scaled back, saturating at ±Number.MAX_VALUE.
    const maxAbs = Math.max(Math.abs(this.min), Math.abs(this.max));
    const scale = maxAbs > 2 ** 480 ? 2 ** (Math.ceil(Math.log2(maxAbs)) - 480) : 1;
    const back = (x: number) => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, x * scale));
    if (scale !== 1) {
      sorted = sorted.map((x) => x / scale);
      let m = 0;
      for (let i = 0; i < sorted.length; i++) m += (sorted[i]! - m) / (i + 1);
      let ss = 0;
      for (let i = 0; i < sorted.length; i++) ss += (sorted[i]! - m) ** 2;
      mean = back(m);
      std = sorted.length > 1 ? back(Math.sqrt(ss / (sorted.length - 1))) : 0;
    }
    // simple-statistics only indexes and reads `length`, so a typed array serves as its number[].
    const asArray = sorted as unknown as number[];
    const q = (p: number) => back(quantileSorted(asArray, p));
    const percentiles: number[] = [];
    for (let i = 0; i <= 100; i++) percentiles.push(i === 0 ? back(sorted[0]!) : i === 100 ? back(sorted[sorted.length - 1]!) : q(i / 100));
    const hist = histogram(sorted, this.min / scale, this.max / scale, this.bins);

    out.stats = {
      min: this.min,
      max: this.max,
      mean,
      std,
      quantiles: {
        p1: q(QUANTILE_LEVELS.p1),
        p5: q(QUANTILE_LEVELS.p5),
        p25: q(QUANTILE_LEVELS.p25),
        p50: q(QUANTILE_LEVELS.p50),
        p75: q(QUANTILE_LEVELS.p75),
        p95: q(QUANTILE_LEVELS.p95),
        p99: q(QUANTILE_LEVELS.p99),
      },
      percentiles,
      histogram: scale === 1 ? hist : { edges: hist.edges.map(back), counts: hist.counts },
      sampled: this.n > this.kept,
      sampleSize: this.kept,
    };
    return out;
  }
}

function bump(v: RuleViolation, rowNumber: number): void {
  if (v.count++ === 0) v.firstRow = rowNumber;
}

/** Equal-width histogram of sorted values between min and max (one bin when they are equal). */
export function histogram(sorted: ArrayLike<number>, min: number, max: number, bins: number): NumericStats['histogram'] {
  if (sorted.length === 0) return { edges: [], counts: [] };
  if (!(max > min)) return { edges: [min, max], counts: [sorted.length] };
  const width = (max - min) / bins;
  const edges: number[] = [];
  for (let i = 0; i < bins; i++) edges.push(min + i * width);
  edges.push(max);
  const counts: number[] = new Array<number>(bins).fill(0);
  for (let i = 0; i < sorted.length; i++) {
    const b = Math.min(bins - 1, Math.floor((sorted[i]! - min) / width));
    counts[b]!++;
  }
  return { edges, counts };
}

class TextAccumulator implements Accumulator {
  private readonly counts = new Map<string, number>();
  private capped = false;
  private readonly allowed?: ReadonlySet<string>;
  private readonly unexpectedCounts = new Map<string, number>();
  private unexpected?: { count: number; firstRow: number | null };

  constructor(
    private readonly type: 'category' | 'boolean' | 'string',
    allowedValues: readonly string[] | undefined,
    private readonly topValues: number,
    private readonly maxDistinct: number,
  ) {
    if (allowedValues) {
      this.allowed = new Set(allowedValues);
      this.unexpected = { count: 0, firstRow: null };
    }
  }

  add(value: unknown, rowNumber: number): boolean {
    const s = typeof value === 'string' ? value : String(value);
    const c = this.counts.get(s);
    if (c !== undefined) this.counts.set(s, c + 1);
    else if (this.counts.size < this.maxDistinct) this.counts.set(s, 1);
    else this.capped = true;
    if (this.allowed && !this.allowed.has(s)) {
      const u = this.unexpected!;
      if (u.count++ === 0) u.firstRow = rowNumber;
      const uc = this.unexpectedCounts.get(s);
      if (uc !== undefined) this.unexpectedCounts.set(s, uc + 1);
      else if (this.unexpectedCounts.size < 100) this.unexpectedCounts.set(s, 1);
    }
    return true;
  }

  finish(base: { count: number; present: number; missing: number }): ColumnProfile {
    const top = topCounts(this.counts, this.topValues);
    let inTop = 0;
    for (const t of top) inTop += t.count;
    const nonMissing = base.count - base.missing;
    const out: TextColumnProfile = {
      type: this.type,
      ...base,
      distinct: this.counts.size,
      distinctCapped: this.capped,
      top,
      otherCount: nonMissing - inTop,
    };
    if (this.unexpected) out.unexpected = { ...this.unexpected, values: topCounts(this.unexpectedCounts, 100) };
    return out;
  }
}

function topCounts(counts: ReadonlyMap<string, number>, limit: number): ValueCount[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([value, c]) => ({ value, count: c }));
}

/**
 * A single-pass profiler for the columns of `schema`. Memory: per numeric column up to
 * `maxExactValues` doubles; per text column up to `maxDistinct` distinct strings.
 */
export function createProfiler(schema: DataSchema, options: ProfilerOptions = {}): Profiler {
  const maxKept = Math.max(1, options.maxExactValues ?? 2_000_000);
  const rng = seedrandom.alea(String(options.seed ?? 1));
  const bins = Math.max(1, options.histogramBins ?? 20);
  const topValues = options.topValues ?? 50;
  const maxDistinct = Math.max(1, options.maxDistinct ?? 100_000);

  const names = Object.keys(schema);
  const known = new Set(names);
  const accumulators: Accumulator[] = names.map((name) => {
    const rule = schema[name]!;
    switch (rule.type) {
      case 'number':
        return new NumberAccumulator(rule, maxKept, rng, bins);
      case 'category':
        return new TextAccumulator('category', rule.values, topValues, maxDistinct);
      default:
        return new TextAccumulator(rule.type, undefined, topValues, maxDistinct);
    }
  });
  const present = new Array<number>(names.length).fill(0);
  const missing = new Array<number>(names.length).fill(0);
  const extras = new Set<string>();
  let rows = 0;

  return {
    add(row, raw) {
      const rowNumber = ++rows;
      for (let i = 0; i < names.length; i++) {
        const v = row[names[i]!];
        if (v === undefined) {
          missing[i]!++;
          continue;
        }
        present[i]!++;
        if (v === null || !accumulators[i]!.add(v, rowNumber)) missing[i]!++;
      }
      if (raw) {
        for (const k in raw) if (!known.has(k)) extras.add(k);
      }
      return rowNumber;
    },
    get rowCount() {
      return rows;
    },
    finish() {
      const columns: Record<string, ColumnProfile> = {};
      for (let i = 0; i < names.length; i++) {
        columns[names[i]!] = accumulators[i]!.finish({ count: rows, present: present[i]!, missing: missing[i]! });
      }
      return { version: 1, rowCount: rows, columns, extraColumns: [...extras].sort() };
    },
  };
}

/** Parses a profile read back from storage; throws a zod error describing what is wrong. */
export function parseDatasetProfile(doc: unknown): DatasetProfile {
  return DatasetProfileSchema.parse(doc);
}
