/**
 * A seeded synthetic table for scale tests and benches: `features` columns (numbers, two
 * categories, one boolean, a few missing values) and a boolean target `label` that depends on them.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import seedrandom from 'seedrandom';

export interface ScaleTableOptions {
  rows: number;
  features?: number;
  seed?: number;
  /** Decimal digits of the numbers (more digits: more bytes per row). */
  digits?: number;
}

export function scaleSchema(features = 20): Record<string, { type: 'number' | 'category' | 'boolean'; required: boolean; values?: string[] }> {
  const schema: Record<string, { type: 'number' | 'category' | 'boolean'; required: boolean; values?: string[] }> = {};
  for (let j = 0; j < features; j++) {
    if (j === features - 3) schema[`f${j}`] = { type: 'category', values: ['red', 'green', 'blue'], required: true };
    else if (j === features - 2) schema[`f${j}`] = { type: 'category', values: ['a', 'b', 'c', 'd'], required: true };
    else if (j === features - 1) schema[`f${j}`] = { type: 'boolean', required: true };
    else schema[`f${j}`] = { type: 'number', required: true };
  }
  schema.label = { type: 'boolean', required: true };
  return schema;
}

/** Writes the table as CSV; returns the bytes written. */
export async function writeScaleCsv(file: string, options: ScaleTableOptions): Promise<number> {
  const features = options.features ?? 20;
  const digits = options.digits ?? 4;
  const rng = seedrandom.alea(String(options.seed ?? 1));
  const out = createWriteStream(file);
  const names = Array.from({ length: features }, (_, j) => `f${j}`);
  let bytes = 0;
  const put = async (s: string) => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await put(`${names.join(',')},label\n`);
  const colors = ['red', 'green', 'blue'];
  const letters = ['a', 'b', 'c', 'd'];
  let chunk: string[] = [];
  for (let i = 0; i < options.rows; i++) {
    const cells: string[] = [];
    let z = 0;
    for (let j = 0; j < features; j++) {
      if (j === features - 3) {
        const c = Math.floor(rng() * 3);
        z += c === 0 ? 0.8 : -0.3;
        cells.push(colors[c]!);
      } else if (j === features - 2) cells.push(letters[Math.floor(rng() * 4)]!);
      else if (j === features - 1) {
        const b = rng() < 0.4;
        z += b ? 0.5 : 0;
        cells.push(b ? 'true' : 'false');
      } else {
        const x = (rng() + rng() + rng() - 1.5) * 2;
        if (j < 4) z += x * (j % 2 ? 0.9 : -0.7);
        cells.push(rng() < 0.001 ? '' : x.toFixed(digits));
      }
    }
    const p = 1 / (1 + Math.exp(-z));
    cells.push(rng() < p ? 'true' : 'false');
    chunk.push(cells.join(','));
    if (chunk.length === 10_000) {
      await put(chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  if (chunk.length) await put(chunk.join('\n') + '\n');
  out.end();
  await once(out, 'finish');
  return bytes;
}
