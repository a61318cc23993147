/**
 * Generators of bad dataset files for the fuzz suites: rows whose cells are right, wrong-typed,
 * missing, extreme, huge or nested; written as CSV, JSONL or Parquet; then, maybe, damaged at the
 * byte level (truncated, re-encoded, invalid UTF-8, flipped bytes, emptied, header only, a
 * duplicated header, gzip). The unit suite scans them; the ingest suite uploads them.
 */
import zlib from 'node:zlib';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parsePipelineSpec, type PipelineSpec } from '../../src/spec/pipeline-spec';

/** Every rule type and option, so every check of the validator gets exercised. */
export const FUZZ_SPEC: PipelineSpec = parsePipelineSpec({
  apiVersion: 'mlcycle/v1',
  name: 'fuzz',
  data: {
    source: 's3://fuzz-bucket/data.csv',
    target: 'active',
    schema: {
      id: { type: 'string' },
      amount: { type: 'number', min: 0, max: 1000 },
      count: { type: 'number', integer: true, required: false },
      plan: { type: 'category', values: ['basic', 'pro'] },
      active: { type: 'boolean' },
    },
  },
  validation: { minRows: 1, maxMissingFraction: 0.2, minClassFraction: 0.1 },
  train: { trainer: 'logistic-regression' },
});
export const COLUMNS = Object.keys(FUZZ_SPEC.data.schema);

/** A cell too big or deep to print: built when the file is written, shown by name in counterexamples. */
export class LazyCell {
  constructor(
    readonly name: string,
    readonly value: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return `<${this.name}>`;
  }
}

export const hugeCell = (bytes: number) => new LazyCell(`${bytes}-byte cell`, () => 'h'.repeat(bytes));
const deepCell = (depth: number) =>
  new LazyCell(`list nested ${depth} deep`, () => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  });

/** Cells of any type and shape; which column they land in decides whether they are "right". */
export const cell: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 1e4 })) },
  { weight: 4, arbitrary: fc.constantFrom('basic', 'pro', 'enterprise', 'true', 'false', 'yes', 'no', '1', '0', 'T', 'n') },
  { weight: 3, arbitrary: fc.constantFrom('', ' ', 'NA', 'N/A', 'null', 'None', 'NaN', null) },
  { weight: 3, arbitrary: fc.constantFrom('1e400', '-1e400', '1.7e308', '-1.7e308', '5e-324', '0x1F', ' 12 ', '1,5', '١٢', 'Infinity', '--1', '.', '+.5e-3') },
  { weight: 2, arbitrary: fc.constantFrom(1.7e308, -1.7e308, 5e-324, Number.MAX_SAFE_INTEGER, -0) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 2, arbitrary: fc.constantFrom('a,b', 'say "hi"', 'line\nbreak', 'cr\rlf', '\ttab', '"', '""', "'", '\u0000', '\ufeff', '\u2028') },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(deepCell(6000))) },
);

export type Format = 'csv' | 'jsonl' | 'parquet';

export interface Table {
  /** Column names in file order: schema columns (some maybe dropped), extras, maybe a duplicate. */
  header: string[];
  rows: unknown[][];
}

export const table: fc.Arbitrary<Table> = fc
  .record({
    keep: fc.subarray(COLUMNS, { minLength: 0 }),
    extras: fc.array(fc.constantFrom('extra', 'Amount', 'id ', 'notes', '__proto__', 'constructor', ''), { maxLength: 2 }),
    shuffle: fc.nat(),
    nRows: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 40 })),
    cells: fc.infiniteStream(cell),
    // Per table, not per cell: megabytes in every other cell would make each case slow.
    huge: fc.oneof(
      { weight: 15, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.record({ at: fc.nat(), cell: fc.constantFrom(hugeCell(1 << 20), hugeCell(3 << 20)) }) },
    ),
  })
  .map(({ keep, extras, shuffle, nRows, cells, huge }) => {
    const header = [...keep, ...extras];
    for (let i = header.length - 1; i > 0; i--) {
      const j = (shuffle + i * 7919) % (i + 1);
      [header[i], header[j]] = [header[j]!, header[i]!];
    }
    const it = cells[Symbol.iterator]();
    const rows = Array.from({ length: nRows }, () => header.map(() => it.next().value as unknown));
    const width = header.length;
    if (huge && width > 0 && nRows > 0) rows[Math.floor(huge.at / width) % nRows]![huge.at % width] = huge.cell;
    return { header, rows };
  });

const materialize = (v: unknown): unknown => (v instanceof LazyCell ? v.value() : v);

/** JSON text of a cell; nesting too deep for JSON.stringify is written by hand, as another program could. */
function jsonText(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return `${'['.repeat(6000)}1${']'.repeat(6000)}`;
  }
}

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? jsonText(v) : String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The file as its writer would produce it: well-formed, whatever the cells hold. */
export function render(t: Table, format: Format): Buffer {
  switch (format) {
    case 'csv': {
      const lines = [t.header.map(csvField).join(','), ...t.rows.map((r) => r.map((v) => csvField(materialize(v))).join(','))];
      return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    }
    case 'jsonl': {
      const lines = t.rows.map((r) => {
        const o: Record<string, unknown> = {};
        t.header.forEach((h, i) => Object.defineProperty(o, h, { value: materialize(r[i]), enumerable: true, configurable: true, writable: true }));
        return `{${Object.keys(o).map((k) => `${JSON.stringify(k)}:${jsonText(o[k])}`).join(',')}}`;
      });
      return Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    }
    case 'parquet': {
      // Parquet needs distinct names and one type per column; mixed cells go in as text.
      const names = [...new Set(t.header.filter((h) => h !== '' && h !== '__proto__'))];
      if (names.length === 0) names.push('empty');
      const columnData = names.map((name) => {
        const idx = t.header.indexOf(name);
        const values = t.rows.map((r) => (idx >= 0 ? materialize(r[idx]) : null));
        const present = values.filter((v) => v !== null && v !== undefined);
        if (present.length > 0 && present.every((v) => typeof v === 'number')) return { name, data: values, type: 'DOUBLE' as const, nullable: true };
        if (present.length > 0 && present.every((v) => typeof v === 'boolean')) return { name, data: values, type: 'BOOLEAN' as const, nullable: true };
        const text = values.map((v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : jsonText(v)));
        return { name, data: text, type: 'STRING' as const, nullable: true };
      });
      return Buffer.from(parquetWriteBuffer({ columnData }));
    }
  }
}

export type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'encode'; as: 'latin1' | 'utf16le-bom' | 'utf16be-bom' | 'utf16le' | 'utf8-bom' }
  | { kind: 'invalid-utf8'; at: number }
  | { kind: 'flip'; at: number[]; xor: number }
  | { kind: 'empty' }
  | { kind: 'header-only' }
  | { kind: 'duplicate-header' }
  | { kind: 'drop-cell'; line: number }
  | { kind: 'gzip'; truncate: boolean };

export const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('encode' as const), as: fc.constantFrom('latin1', 'utf16le-bom', 'utf16be-bom', 'utf16le', 'utf8-bom') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalid-utf8' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'header-only' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate-header' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop-cell' as const), line: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gzip' as const), truncate: fc.boolean() }) },
);

/** Applies `d` to a rendered file; returns the bytes and whether the name should end in .gz. */
export function applyDamage(bytes: Buffer, d: Damage, format: Format): { bytes: Buffer; gzip: boolean } {
  const text = () => bytes.toString('utf8');
  switch (d.kind) {
    case 'none':
      return { bytes, gzip: false };
    case 'truncate':
      return { bytes: bytes.subarray(0, bytes.length === 0 ? 0 : d.at % bytes.length), gzip: false };
    case 'encode': {
      const t = text();
      const le = Buffer.from(t, 'utf16le');
      switch (d.as) {
        case 'latin1':
          return { bytes: Buffer.from(t, 'latin1'), gzip: false };
        case 'utf16le':
          return { bytes: le, gzip: false };
        case 'utf16le-bom':
          return { bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), le]), gzip: false };
        case 'utf16be-bom':
          return { bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le).swap16()]), gzip: false };
        case 'utf8-bom':
          return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), gzip: false };
      }
      return { bytes, gzip: false };
    }
    case 'invalid-utf8': {
      const at = bytes.length === 0 ? 0 : d.at % bytes.length;
      return { bytes: Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), bytes.subarray(at)]), gzip: false };
    }
    case 'flip': {
      const out = Buffer.from(bytes);
      if (out.length > 0) for (const i of d.at) out[i % out.length] = out[i % out.length]! ^ d.xor;
      return { bytes: out, gzip: false };
    }
    case 'empty':
      return { bytes: Buffer.alloc(0), gzip: false };
    case 'header-only': {
      if (format === 'parquet') return { bytes: bytes.subarray(0, 4), gzip: false };
      const t = text();
      return { bytes: Buffer.from(t.slice(0, t.indexOf('\n') + 1)), gzip: false };
    }
    case 'duplicate-header': {
      if (format !== 'csv') return { bytes, gzip: false };
      const t = text();
      const nl = t.indexOf('\n');
      const first = t.slice(0, nl).split(',')[0] ?? 'id';
      return { bytes: Buffer.from(`${t.slice(0, nl)},${first}${t.slice(nl)}`), gzip: false };
    }
    case 'drop-cell': {
      if (format === 'parquet') return { bytes, gzip: false };
      const lines = text().split('\n');
      const i = lines.length > 1 ? 1 + (d.line % (lines.length - 1)) : 0;
      // CSV: a row one cell short; JSONL: a record cut in half.
      lines[i] = format === 'csv' ? lines[i]!.replace(/,[^,]*$/, '') : lines[i]!.slice(0, Math.floor(lines[i]!.length / 2));
      return { bytes: Buffer.from(lines.join('\n')), gzip: false };
    }
    case 'gzip': {
      if (format === 'parquet') return { bytes, gzip: false };
      const z = zlib.gzipSync(bytes);
      return { bytes: d.truncate ? z.subarray(0, Math.max(1, z.length - 7)) : z, gzip: true };
    }
  }
}

export interface DatasetCase {
  table: Table;
  format: Format;
  damage: Damage;
}

export const datasetCase: fc.Arbitrary<DatasetCase> = fc.record({ table, format: fc.constantFrom<Format>('csv', 'jsonl', 'parquet'), damage });

/**
 * Whether an error message points at where the problem is: a line, a row (group), a column or
 * header, or, for damage no location describes (a broken Parquet footer or gzip stream), the file.
 */
export function locatesProblem(message: string, file: string): boolean {
  if (!message.includes(file)) return false;
  return /\bline \d+|\brow group \d+|\brows? \d+|\bcolumn\b|\bheader\b|not a readable Parquet file|not valid gzip data|gzip-compressed Parquet|has no data rows|MLCYCLE_DATA_MEMORY_LIMIT/.test(message);
}
