import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coerceRow,
  createTypeErrorCollector,
  inferFormat,
  readBatches,
  readRows,
  type DataFormat,
  type DataSchema,
} from '../../src/data/dataset-reader';
import { scanDataset } from '../../src/data/scan';
import {
  CHURN_COLUMNS,
  CHURN_PARQUET_COLUMNS,
  CHURN_SCHEMA,
  generateChurnDataset,
  writeCsv,
  writeJsonl,
  writeParquet,
  type ChurnRow,
} from '../../src/demo/dataset-generator';
import { MlcycleError } from '../../src/errors';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-reader-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function collect(file: string, format?: DataFormat): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const r of readRows(file, format)) rows.push(r);
  return rows;
}

async function readError(file: string, format?: DataFormat): Promise<MlcycleError> {
  try {
    await collect(file, format);
  } catch (err) {
    expect(err).toBeInstanceOf(MlcycleError);
    return err as MlcycleError;
  }
  throw new Error(`reading ${file} did not fail`);
}

function coerced(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((raw) => {
    const { row, typeErrors } = coerceRow(raw, CHURN_SCHEMA);
    expect(typeErrors).toEqual([]);
    return row;
  });
}

describe('readRows round trips through the generator writers', () => {
  const original: ChurnRow[] = generateChurnDataset({ rows: 500, seed: 11, missingFraction: 0.1 });

  it('has missing values to round-trip', () => {
    expect(original.some((r) => r.tenure_months === null)).toBe(true);
    expect(original.some((r) => r.plan === null)).toBe(true);
    expect(original.some((r) => r.autopay === null)).toBe(true);
  });

  it('CSV: strings from the file, typed again by coerceRow', async () => {
    const file = path.join(dir, 'churn.csv');
    expect(await writeCsv(file, original, CHURN_COLUMNS)).toBe(500);
    const raw = await collect(file);
    expect(raw).toHaveLength(500);
    expect(Object.keys(raw[0]!)).toEqual([...CHURN_COLUMNS]);
    expect(typeof raw[0]!.tenure_months).toBe('string');
    expect(coerced(raw)).toEqual(original);
  });

  it('CSV.gz is decompressed on the fly', async () => {
    const file = path.join(dir, 'churn.csv.gz');
    await fs.writeFile(file, zlib.gzipSync(await fs.readFile(path.join(dir, 'churn.csv'))));
    expect(inferFormat(file)).toEqual({ format: 'csv', gzip: true });
    expect(coerced(await collect(file))).toEqual(original);
  });

  it('JSONL', async () => {
    const file = path.join(dir, 'churn.jsonl');
    expect(await writeJsonl(file, original, CHURN_COLUMNS)).toBe(500);
    const raw = await collect(file);
    expect(raw[0]).toEqual(original[0]);
    expect(coerced(raw)).toEqual(original);
  });

  it('Parquet, several row groups', async () => {
    const file = path.join(dir, 'churn.parquet');
    expect(await writeParquet(file, original, CHURN_PARQUET_COLUMNS, { rowGroupSize: 64 })).toBe(500);
    const raw = await collect(file);
    expect(raw).toHaveLength(500);
    expect(raw[3]).toEqual(original[3]);
    expect(coerced(raw)).toEqual(original);
  });

  it('Parquet from an async iterable with inferred columns', async () => {
    const file = path.join(dir, 'inferred.parquet');
    async function* rows() {
      yield { a: 1.5, b: 'x', c: true };
      yield { a: null, b: 'y', c: false };
    }
    expect(await writeParquet(file, rows())).toBe(2);
    expect(await collect(file)).toEqual([
      { a: 1.5, b: 'x', c: true },
      { a: null, b: 'y', c: false },
    ]);
  });

  it('an explicit format overrides the extension', async () => {
    const file = path.join(dir, 'churn.data');
    await fs.copyFile(path.join(dir, 'churn.jsonl'), file);
    expect(await collect(file, 'jsonl')).toHaveLength(500);
  });

  it('CSV quoting: commas, quotes, line breaks and edge spaces survive', async () => {
    const file = path.join(dir, 'quoted.csv');
    const rows = [
      { id: 'a,b', note: 'say "hi"' },
      { id: 'line\nbreak', note: ' padded ' },
      { id: 'plain', note: '' },
    ];
    await writeCsv(file, rows);
    expect(await collect(file)).toEqual(rows);
  });
});

describe('readBatches', () => {
  it('groups records into batches of the requested size, for every format', async () => {
    for (const ext of ['csv', 'jsonl']) {
      const sizes: number[] = [];
      for await (const batch of readBatches(path.join(dir, `churn.${ext}`), undefined, { batchSize: 120 })) sizes.push(batch.length);
      expect(sizes, ext).toEqual([120, 120, 120, 120, 20]);
    }
    const groups: number[] = [];
    for await (const batch of readBatches(path.join(dir, 'churn.parquet'))) groups.push(batch.length);
    expect(groups).toEqual([64, 64, 64, 64, 64, 64, 64, 52]); // one batch per row group
  });

  it('yields the records before a malformed CSV line, then fails naming it', async () => {
    const file = path.join(dir, 'late-ragged.csv');
    const lines = ['a,b', ...Array.from({ length: 300 }, (_, i) => `${i},x`)];
    lines.splice(251, 0, 'only-one-field'); // line 252 of the file
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    let seen = 0;
    const err = await (async () => {
      try {
        for await (const batch of readBatches(file, 'csv', { batchSize: 100 })) seen += batch.length;
      } catch (e) {
        return e as MlcycleError;
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain('line 252');
    expect(seen).toBe(250);
  });

  it('JSONL: CRLF line ends, blank lines, multi-byte text, no final newline', async () => {
    const file = path.join(dir, 'crlf.jsonl');
    const long = 'é✓'.repeat(400_000); // spans read chunks, so characters are split across them
    await fs.writeFile(file, `{"a":"${long}"}\r\n\r\n{"a":"ü"}\r\n{"a":3}`);
    const rows = await collect(file);
    expect(rows).toEqual([{ a: long }, { a: 'ü' }, { a: 3 }]);
  });
});

describe('readRows errors', () => {
  it('a ragged CSV row names the file and the line', async () => {
    const file = path.join(dir, 'ragged.csv');
    await fs.writeFile(file, 'a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/line 4\b/);
  });

  it('a bad CSV quote names the line', async () => {
    const file = path.join(dir, 'quote.csv');
    await fs.writeFile(file, 'a,b\n1,2\n3,"x"y\n');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toMatch(/line 3\b/);
  });

  it('a CSV header naming a column twice', async () => {
    const file = path.join(dir, 'dup.csv');
    await fs.writeFile(file, 'a,b,a\n1,2,3\n');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain('"a" twice');
  });

  it('an invalid JSON line names the file and the line', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await fs.writeFile(file, '{"a":1}\n\n{"a":2,}\n{"a":3}\n');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toContain('invalid JSON at line 3');
  });

  it('a JSON line that is not an object', async () => {
    const file = path.join(dir, 'array.jsonl');
    await fs.writeFile(file, '{"a":1}\n[1,2]\n');
    const err = await readError(file);
    expect(err.message).toContain('line 2 is not a JSON object (got an array)');
  });

  it('rows before the bad line are still yielded', async () => {
    const seen: unknown[] = [];
    await expect(async () => {
      for await (const r of readRows(path.join(dir, 'bad.jsonl'))) seen.push(r);
    }).rejects.toThrow(MlcycleError);
    expect(seen).toEqual([{ a: 1 }]);
  });

  it('an unknown extension asks for data.format', async () => {
    const file = path.join(dir, 'data.xlsx');
    await fs.writeFile(file, 'x');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toContain('data.format');
  });

  it('a file that is not Parquet', async () => {
    const file = path.join(dir, 'fake.parquet');
    await fs.writeFile(file, 'not parquet at all');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain(`${file}: not a readable Parquet file`);
  });

  it('a file that is not gzip', async () => {
    const file = path.join(dir, 'fake.csv.gz');
    await fs.writeFile(file, 'a,b\n1,2\n');
    const err = await readError(file);
    expect(err.code).toBe('DATA_INVALID');
    expect(err.message).toContain('not valid gzip');
  });

  it('a missing file is NOT_FOUND', async () => {
    const err = await readError(path.join(dir, 'nope.csv'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('nope.csv');
  });
});

describe('coerceRow', () => {
  const schema = {
    n: { type: 'number', required: true },
    b: { type: 'boolean', required: true },
    c: { type: 'category', values: ['x', 'y'], required: true },
    s: { type: 'string', required: true },
  } satisfies DataSchema;

  it('converts CSV text to the declared types', () => {
    expect(coerceRow({ n: ' 3.5 ', b: 'Yes', c: 'x', s: ' keep ' }, schema)).toEqual({
      row: { n: 3.5, b: true, c: 'x', s: ' keep ' },
      typeErrors: [],
    });
    expect(coerceRow({ n: '-1e3', b: '0', c: 'z', s: 'a' }, schema).row).toEqual({ n: -1000, b: false, c: 'z', s: 'a' });
    for (const [t, f] of [
      ['true', 'false'],
      ['1', '0'],
      ['yes', 'no'],
      ['TRUE', 'No'],
    ]) {
      expect(coerceRow({ b: t }, schema).row.b).toBe(true);
      expect(coerceRow({ b: f }, schema).row.b).toBe(false);
    }
  });

  it('keeps JSON and Parquet values that already fit', () => {
    expect(coerceRow({ n: 7, b: false, c: 'y', s: 12 }, schema).row).toEqual({ n: 7, b: false, c: 'y', s: '12' });
    expect(coerceRow({ n: 5n, b: 1, c: 'x', s: true }, schema).row).toEqual({ n: 5, b: true, c: 'x', s: 'true' });
  });

  it('empty, NA and null are missing (null); an absent column stays undefined', () => {
    expect(coerceRow({ n: '', b: 'NA', c: null, s: 'null' }, schema).row).toEqual({ n: null, b: null, c: null, s: null });
    const { row } = coerceRow({ n: '1' }, schema);
    expect(row).toEqual({ n: 1, b: undefined, c: undefined, s: undefined });
    expect('b' in row).toBe(true);
  });

  it('records values of the wrong type instead of throwing, and drops extra columns', () => {
    const { row, typeErrors } = coerceRow({ n: 'abc', b: 'maybe', c: { nested: 1 }, s: 'ok', extra: 1 }, schema);
    expect(row).toEqual({ n: null, b: null, c: null, s: 'ok' });
    expect(typeErrors).toEqual([
      { column: 'n', expected: 'number', value: 'abc' },
      { column: 'b', expected: 'boolean', value: 'maybe' },
      { column: 'c', expected: 'category', value: '{"nested":1}' },
    ]);
    expect(coerceRow({ n: '0x10' }, schema).typeErrors).toHaveLength(1);
    expect(coerceRow({ n: 'Infinity' }, schema).typeErrors).toHaveLength(1);
    expect(coerceRow({ b: 2 }, schema).typeErrors).toHaveLength(1);
  });

  it('the type error collector counts per column and keeps the first examples', () => {
    const c = createTypeErrorCollector(2);
    for (let row = 1; row <= 4; row++) c.add(row, coerceRow({ n: `bad${row}`, b: row === 3 ? 'x' : 'true' }, schema).typeErrors);
    expect(c.finish()).toEqual({
      n: { expected: 'number', count: 4, examples: [ { row: 1, value: 'bad1' }, { row: 2, value: 'bad2' } ] },
      b: { expected: 'boolean', count: 1, examples: [{ row: 3, value: 'x' }] },
    });
  });
});

describe('scanDataset', () => {
  it('profiles a file and reports type errors with 1-based data row numbers', async () => {
    const file = path.join(dir, 'scan.csv');
    await fs.writeFile(file, 'x,flag,note\n1,true,a\n2,false,b\noops,true,c\n4,perhaps,d\n');
    const progress: number[] = [];
    const { profile, typeErrors } = await scanDataset(
      file,
      { x: { type: 'number', required: true }, flag: { type: 'boolean', required: true } },
      { onProgress: (n) => progress.push(n), progressEvery: 2 },
    );
    expect(profile.rowCount).toBe(4);
    expect(profile.extraColumns).toEqual(['note']);
    expect(profile.columns.x).toMatchObject({ type: 'number', missing: 1, stats: { min: 1, max: 4, mean: 7 / 3 } });
    expect(typeErrors).toEqual({
      x: { expected: 'number', count: 1, examples: [{ row: 3, value: 'oops' }] },
      flag: { expected: 'boolean', count: 1, examples: [{ row: 4, value: 'perhaps' }] },
    });
    expect(progress).toEqual([2, 4, 4]);
  });
});
