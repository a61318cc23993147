/**
 * Small generated tables for the task acceptance tests, written as CSV: a 3-class "penguins"-like
 * table, a regression "houses" table and a 7%-positive "fraud" table, each with a category, a
 * boolean and a few missing values, plus the pipeline spec documents that train on them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 } from './synthetic-tasks';

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
}

const fmt = (v: number | boolean | string | null) => (v === null ? '' : typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v));

async function writeCsv(file: string, header: string[], rows: Array<Array<number | boolean | string | null>>): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, [header.join(','), ...rows.map((r) => r.map(fmt).join(','))].join('\n') + '\n');
}

export const SPECIES = ['adelie', 'chinstrap', 'gentoo'];
export const ISLANDS = ['biscoe', 'dream', 'torgersen'];

export async function writePenguins(file: string, rows = 1500, seed = 3): Promise<void> {
  const rng = mulberry32(seed);
  const out: Array<Array<number | boolean | string | null>> = [];
  for (let i = 0; i < rows; i++) {
    const s = Math.floor(rng() * 3);
    const island = s === 2 ? 'biscoe' : (ISLANDS[Math.floor(rng() * 3)] as string);
    const bill = [39, 48, 47][s]! + 2.5 * gauss(rng);
    const depth = [18.3, 18.4, 15][s]! + 1 * gauss(rng);
    const flipper = [190, 196, 217][s]! + 7 * gauss(rng);
    const male = rng() < 0.5;
    out.push([rng() < 0.03 ? null : bill, depth, rng() < 0.03 ? null : flipper, island, male, SPECIES[s] as string]);
  }
  await writeCsv(file, ['bill_length', 'bill_depth', 'flipper_length', 'island', 'male', 'species'], out);
}

export async function writeHouses(file: string, rows = 1500, seed = 4): Promise<void> {
  const rng = mulberry32(seed);
  const out: Array<Array<number | boolean | string | null>> = [];
  for (let i = 0; i < rows; i++) {
    const area = 50 + 150 * rng();
    const rooms = 1 + Math.floor(rng() * 5);
    const hood = ISLANDS[Math.floor(rng() * 3)] as string;
    const garden = rng() < 0.4;
    const price = 40 + 2.2 * area + 12 * rooms + (hood === 'dream' ? 60 : 0) + (garden ? 25 : 0) + 0.01 * area * area * (garden ? 1 : 0) + 15 * gauss(rng);
    out.push([rng() < 0.03 ? null : area, rooms, hood, garden, price]);
  }
  await writeCsv(file, ['area', 'rooms', 'hood', 'garden', 'price'], out);
}

/** About 7% positives, the signal mostly in amount and hour. */
export async function writeFraud(file: string, rows = 4000, seed = 5): Promise<void> {
  const rng = mulberry32(seed);
  const out: Array<Array<number | boolean | string | null>> = [];
  for (let i = 0; i < rows; i++) {
    const amount = gauss(rng);
    const hour = gauss(rng);
    const online = rng() < 0.5;
    const other = gauss(rng);
    const z = 0.8 * amount + 0.6 * hour + (online ? 0.3 : 0) + 1.0 * gauss(rng) - 2.3;
    out.push([amount, hour, online, other, ISLANDS[Math.floor(rng() * 3)] as string, z > 0]);
  }
  await writeCsv(file, ['amount', 'hour', 'online', 'other', 'region', 'fraud'], out);
}

export const PENGUIN_SCHEMA = {
  bill_length: { type: 'number', required: false },
  bill_depth: { type: 'number' },
  flipper_length: { type: 'number', required: false },
  island: { type: 'category', values: ISLANDS },
  male: { type: 'boolean' },
  species: { type: 'category', values: SPECIES },
};

export const HOUSE_SCHEMA = {
  area: { type: 'number', required: false },
  rooms: { type: 'number', integer: true },
  hood: { type: 'category', values: ISLANDS },
  garden: { type: 'boolean' },
  price: { type: 'number' },
};

export const FRAUD_SCHEMA = {
  amount: { type: 'number' },
  hour: { type: 'number' },
  online: { type: 'boolean' },
  other: { type: 'number' },
  region: { type: 'category', values: ISLANDS },
  fraud: { type: 'boolean' },
};

export function taskSpec(opts: { name: string; source: string; target: string; schema: Record<string, unknown>; train: Record<string, unknown>; evaluate?: Record<string, unknown> }): Record<string, unknown> {
  return {
    apiVersion: 'mlcycle/v1',
    name: opts.name,
    data: { source: opts.source, target: opts.target, schema: opts.schema, split: { test: 0.25, seed: 7 } },
    validation: { minRows: 100, maxMissingFraction: 0.1 },
    train: { checkpointEvery: 5, ...opts.train },
    evaluate: opts.evaluate ?? {},
  };
}
