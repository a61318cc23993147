/**
 * A seeded synthetic customer-churn table for the demo and the tests. The same options give the
 * same rows (and the writers the same bytes) on every run and platform.
 *
 * The label is drawn from a logistic model of the features plus Gaussian noise on the logit, so a
 * logistic regression learns it to an AUC of about 0.85, with about 30% churners. `drift` (0 to 1)
 * moves the feature distributions (newer customers, higher prices, more tickets, a different plan
 * and region mix) and the churn relationship itself (tenure and autopay matter less, the west
 * region churns more), as a retraining trigger would see in production data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileWriter, parquetWriteRows } from 'hyparquet-writer';
import type { BasicType } from 'hyparquet-writer';
import seedrandom from 'seedrandom';
import { probit } from 'simple-statistics';
import type { DataSchema } from '../data/coerce';

export const PLANS = ['basic', 'pro', 'enterprise'] as const;
export const REGIONS = ['north', 'south', 'east', 'west'] as const;
export type Plan = (typeof PLANS)[number];
export type Region = (typeof REGIONS)[number];

export type ChurnRow = {
  customer_id: string;
  tenure_months: number | null;
  monthly_charges: number | null;
  support_tickets: number | null;
  plan: Plan | null;
  region: Region | null;
  autopay: boolean | null;
  churned: boolean;
};

export const CHURN_COLUMNS = [
  'customer_id',
  'tenure_months',
  'monthly_charges',
  'support_tickets',
  'plan',
  'region',
  'autopay',
  'churned',
] as const satisfies readonly (keyof ChurnRow)[];

/** `data.schema` of examples/churn/pipeline.yaml, with the defaults the spec parser fills in. */
export const CHURN_SCHEMA: DataSchema = {
  customer_id: { type: 'string', required: true },
  tenure_months: { type: 'number', min: 0, required: true },
  monthly_charges: { type: 'number', min: 0, required: true },
  support_tickets: { type: 'number', min: 0, integer: true, required: true },
  plan: { type: 'category', values: [...PLANS], required: true },
  region: { type: 'category', values: [...REGIONS], required: true },
  autopay: { type: 'boolean', required: true },
  churned: { type: 'boolean', required: true },
};
export const CHURN_TARGET = 'churned';

/** Parquet physical types of the churn columns. */
export const CHURN_PARQUET_COLUMNS: ParquetColumn[] = [
  { name: 'customer_id', type: 'STRING' },
  { name: 'tenure_months', type: 'DOUBLE' },
  { name: 'monthly_charges', type: 'DOUBLE' },
  { name: 'support_tickets', type: 'INT32' },
  { name: 'plan', type: 'STRING' },
  { name: 'region', type: 'STRING' },
  { name: 'autopay', type: 'BOOLEAN' },
  { name: 'churned', type: 'BOOLEAN' },
];

export interface ChurnOptions {
  rows: number;
  seed: number;
  /** 0 = the reference population; 1 = strongly shifted features and churn relationship. Default 0. */
  drift?: number;
  /** Each feature value (not the id or the label) is blanked with this probability. Default 0. */
  missingFraction?: number;
  /** Number of the first row's customer id, so two batches can have distinct ids. Default 1. */
  firstId?: number;
}

/** Rows one at a time, for datasets too large to hold. */
export function* generateChurnRows(options: ChurnOptions): Generator<ChurnRow> {
  const { rows, seed } = options;
  const drift = Math.min(1, Math.max(0, options.drift ?? 0));
  const missing = Math.min(1, Math.max(0, options.missingFraction ?? 0));
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  const rng = seedrandom.alea(`mlcycle-churn:${seed}`);
  // alea's range is [0, 1); probit needs (0, 1).
  const normal = () => probit(Math.min(Math.max(rng(), 1e-12), 1 - 1e-12));
  const poisson = (lambda: number) => {
    // Knuth's method: fine for the small means used here.
    const l = Math.exp(-lambda);
    let k = 0;
    let p = rng();
    while (p > l) {
      k++;
      p *= rng();
    }
    return k;
  };
  const pick = <T>(values: readonly T[], weights: readonly number[]): T => {
    let u = rng();
    for (let i = 0; i < values.length - 1; i++) {
      u -= weights[i]!;
      if (u < 0) return values[i]!;
    }
    return values[values.length - 1]!;
  };

  const planWeights = [0.5 + 0.2 * drift, 0.35 - 0.1 * drift, 0.15 - 0.1 * drift];
  const regionWeights = [0.3 - 0.15 * drift, 0.25 - 0.05 * drift, 0.25 + 0.05 * drift, 0.2 + 0.15 * drift];
  const basePrice: Record<Plan, number> = { basic: 30, pro: 65, enterprise: 110 };
  const priceSd: Record<Plan, number> = { basic: 6, pro: 10, enterprise: 18 };
  const ticketRate: Record<Plan, number> = { basic: 1.4, pro: 1.0, enterprise: 0.7 };
  const planEffect: Record<Plan, number> = { basic: 0.35, pro: 0, enterprise: -0.6 };
  const regionEffect: Record<Region, number> = { north: 0, south: 0.25, east: -0.15, west: 0.1 + 1.2 * drift };
  const tenureExponent = 1.5 + 1.5 * drift;
  const tenureCoef = -0.075 * (1 - 0.6 * drift);
  const chargeCoef = 0.02;
  const ticketCoef = 0.6 * (1 - 0.5 * drift);
  const autopayCoef = -1.2 * (1 - 0.8 * drift);
  const intercept = -0.55 - 1.9 * drift;
  const blank = <T>(v: T): T | null => (missing > 0 && rng() < missing ? null : v);

  for (let i = 0; i < rows; i++) {
    const plan = pick(PLANS, planWeights);
    const region = pick(REGIONS, regionWeights);
    const tenure = Math.round(72 * Math.pow(rng(), tenureExponent));
    const charges = Math.max(0, Math.round((basePrice[plan] + 12 * drift + priceSd[plan] * normal()) * 100) / 100);
    const tickets = poisson(ticketRate[plan] + 1.2 * drift);
    const autopay = rng() < 0.6 - 0.2 * drift;
    const logit =
      intercept +
      tenureCoef * tenure +
      chargeCoef * charges +
      ticketCoef * tickets +
      (autopay ? autopayCoef : 0) +
      planEffect[plan] +
      regionEffect[region] +
      0.3 * normal();
    const churned = rng() < 1 / (1 + Math.exp(-logit));
    yield {
      customer_id: `C${String((options.firstId ?? 1) + i).padStart(7, '0')}`,
      tenure_months: blank(tenure),
      monthly_charges: blank(charges),
      support_tickets: blank(tickets),
      plan: blank(plan),
      region: blank(region),
      autopay: blank(autopay),
      churned,
    };
  }
}

/** The whole dataset in memory. */
export function generateChurnDataset(options: ChurnOptions): ChurnRow[] {
  return [...generateChurnRows(options)];
}

// ---------------------------------------------------------------------------------------------
// Writers (generic over rows of flat scalar values)
// ---------------------------------------------------------------------------------------------

/** Rows of flat scalar values: an array, a generator or an async iterable. */
export type Rows<T extends object = Readonly<Record<string, unknown>>> = Iterable<T> | AsyncIterable<T>;
type Fields = Readonly<Record<string, unknown>>;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // RFC 4180: quote fields holding a delimiter, quote or line break (and ones with edge spaces,
  // which some readers trim), doubling the quotes inside.
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function writeText(file: string, chunks: AsyncIterable<string>): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await pipeline(Readable.from(chunks), fs.createWriteStream(file));
}

const CHUNK = 1 << 16;

/**
 * Writes rows as CSV (header row, `\n` line ends, RFC 4180 quoting; null/undefined as an empty
 * field). Columns default to the first row's keys. Returns the number of rows written.
 */
export async function writeCsv<T extends object>(file: string, rows: Rows<T>, columns?: readonly string[]): Promise<number> {
  let n = 0;
  const header = (cols: readonly string[]) => `${cols.map(csvField).join(',')}\n`;
  async function* chunks() {
    let cols = columns;
    let buf = cols ? header(cols) : '';
    for await (const r of rows) {
      const row = r as Fields;
      if (!cols) {
        cols = Object.keys(row);
        buf += header(cols);
      }
      let line = '';
      for (let i = 0; i < cols.length; i++) line += (i > 0 ? ',' : '') + csvField(row[cols[i]!]);
      buf += `${line}\n`;
      n++;
      if (buf.length >= CHUNK) {
        yield buf;
        buf = '';
      }
    }
    if (buf.length > 0) yield buf;
  }
  await writeText(file, chunks());
  return n;
}

/** Writes rows as JSON Lines (one object per line, keys in `columns` order when given). */
export async function writeJsonl<T extends object>(file: string, rows: Rows<T>, columns?: readonly string[]): Promise<number> {
  let n = 0;
  async function* chunks() {
    let buf = '';
    for await (const r of rows) {
      const row = r as Fields;
      let out: unknown = row;
      if (columns) {
        const picked: Record<string, unknown> = {};
        for (const c of columns) picked[c] = row[c] ?? null;
        out = picked;
      }
      buf += `${JSON.stringify(out)}\n`;
      n++;
      if (buf.length >= CHUNK) {
        yield buf;
        buf = '';
      }
    }
    if (buf.length > 0) yield buf;
  }
  await writeText(file, chunks());
  return n;
}

export interface ParquetColumn {
  name: string;
  /** Inferred from the first row group's values when absent. */
  type?: BasicType;
}

/**
 * Writes rows as Parquet via hyparquet-writer (snappy, all columns nullable). Columns default to
 * the first row's keys with inferred types; `rowGroupSize` defaults to 100,000 rows.
 */
export async function writeParquet<T extends object>(file: string, rows: Rows<T>, columns?: readonly ParquetColumn[], options: { rowGroupSize?: number } = {}): Promise<number> {
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  let n = 0;
  let cols: readonly string[] = columns?.map((c) => c.name) ?? [];
  // The column list must be known before hyparquet-writer starts, so peek at the first row.
  const iterator = (Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : rows[Symbol.iterator]());
  const first = await iterator.next();
  if (!columns && !first.done) cols = Object.keys(first.value);
  if (cols.length === 0) throw new Error('writeParquet needs columns (no rows to take them from)');
  async function* all() {
    if (first.done) return;
    n++;
    yield first.value as Record<string, unknown>;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      n++;
      yield r.value as Record<string, unknown>;
    }
  }
  const specs = columns?.map((c) => ({ name: c.name, type: c.type, nullable: true })) ?? cols.map((name) => ({ name, nullable: true }));
  await parquetWriteRows({ writer: fileWriter(file), rows: all(), columns: specs, rowGroupSize: options.rowGroupSize ?? 100_000 });
  return n;
}

/** Writes a churn dataset in the format its extension names (.csv, .jsonl, .parquet). */
export async function writeChurnDataset(file: string, options: ChurnOptions & { rowGroupSize?: number }): Promise<number> {
  const rows = generateChurnRows(options);
  const lower = file.toLowerCase();
  if (lower.endsWith('.parquet')) return writeParquet(file, rows, CHURN_PARQUET_COLUMNS, { rowGroupSize: options.rowGroupSize });
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return writeJsonl(file, rows, CHURN_COLUMNS);
  if (lower.endsWith('.csv')) return writeCsv(file, rows, CHURN_COLUMNS);
  throw new Error(`writeChurnDataset: unsupported extension in ${file} (use .csv, .jsonl or .parquet)`);
}
