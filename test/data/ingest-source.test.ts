import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSchema } from '../../src/data/coerce';
import { dataSettings, withEngine } from '../../src/data/engine';
import { convertSource, sourceFile } from '../../src/data/ingest-source';
import type { NumberColumnProfile, TextColumnProfile } from '../../src/data/profile';
import type { DataFormat } from '../../src/data/dataset-reader';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-ingest-src-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const schema: DataSchema = {
  x: { type: 'number', required: true, min: 0 },
  c: { type: 'category', values: ['a', 'b'], required: true },
  y: { type: 'boolean', required: true },
};

async function convert(name: string, body: string | Buffer, options: { format?: DataFormat; schema?: DataSchema | 'infer'; target?: string; env?: Record<string, string> } = {}) {
  const file = path.join(dir, name);
  await fs.writeFile(file, body);
  const format = options.format ?? (name.includes('.parquet') ? 'parquet' : name.includes('.jsonl') ? 'jsonl' : 'csv');
  const snapshotPath = path.join(dir, `${name}.snapshot.parquet`);
  await fs.rm(snapshotPath, { force: true });
  const result = await convertSource({
    file: sourceFile(file, `file://${file}`, format),
    schema: options.schema ?? schema,
    target: options.target ?? 'y',
    scratchDir: dir,
    snapshotPath,
    settings: dataSettings({ MLCYCLE_DATA_THREADS: '2', ...options.env }),
  });
  return { result, snapshotPath };
}

async function rejects(name: string, body: string | Buffer, pattern: RegExp, options: Parameters<typeof convert>[2] = {}) {
  const err = await convert(name, body, options).then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  expect(err, `${name} should be refused`).toBeDefined();
  expect(err!.code).toBe('DATA_INVALID');
  expect(err!.message).toMatch(pattern);
  // Nothing half-written: no snapshot is left where it would be.
  await expect(fs.access(path.join(dir, `${name}.snapshot.parquet`))).rejects.toThrow();
  return err!;
}

describe('convertSource: the canonical snapshot', () => {
  it('types a CSV by the schema, counts type errors, profiles by SQL', async () => {
    const { result } = await convert('ok.csv', 'x,c,y,extra\n1,a,true,u\n2.5,b,no,v\nNA,a,1,w\nabc,z,yes,u\n-1,b,false,v\n');
    expect(result.rowCount).toBe(5);
    const x = result.profile.columns.x as NumberColumnProfile;
    expect(x).toMatchObject({ count: 5, present: 5, missing: 2 });
    expect(x.stats).toMatchObject({ min: -1, max: 2.5 });
    expect(x.stats!.mean).toBeCloseTo(2.5 / 3, 12);
    expect(x.belowMin).toEqual({ limit: 0, count: 1, firstRow: 5 });
    expect(result.typeErrors.x).toEqual({ expected: 'number', count: 1, examples: [{ row: 4, value: 'abc' }] });
    const c = result.profile.columns.c as TextColumnProfile;
    expect(c.unexpected).toEqual({ count: 1, firstRow: 4, values: [{ value: 'z', count: 1 }] });
    const y = result.profile.columns.y as TextColumnProfile;
    expect(y.top).toEqual([
      { value: 'true', count: 3 },
      { value: 'false', count: 2 },
    ]);
    expect(result.profile.extraColumns).toEqual(['extra']);
    expect(result.columns.map((col) => col.name)).toEqual(['x', 'c', 'y', 'extra']);
  });

  it('reads gzip-compressed CSV and JSONL the same way', async () => {
    const csv = 'x,c,y\n1,a,true\n2,b,false\n';
    const a = await convert('g.csv.gz', gzipSync(csv));
    const b = await convert('j.jsonl', '{"x":1,"c":"a","y":true}\n{"x":2,"c":"b","y":false}\n');
    expect(a.result.profile).toEqual(b.result.profile);
  });

  it('infers a schema: numbers, integers, booleans, categories, dates as strings', async () => {
    const rows = ['n,i,b,cat,d,y'];
    for (let k = 0; k < 40; k++) rows.push(`${k / 3},${k},${k % 2 ? 'yes' : 'no'},${['r', 'g', 'b'][k % 3]},2024-01-${String((k % 28) + 1).padStart(2, '0')},${k % 2}`);
    rows.push(',,,,,1');
    const { result } = await convert('infer.csv', rows.join('\n') + '\n', { schema: 'infer' });
    expect(result.inferred).toBe(true);
    expect(result.schema.n).toMatchObject({ type: 'number', required: false });
    expect(result.schema.i).toMatchObject({ type: 'number', integer: true, min: 0, max: 39 });
    expect(result.schema.b).toMatchObject({ type: 'boolean' });
    expect(result.schema.cat).toEqual({ type: 'category', values: ['b', 'g', 'r'], required: false });
    expect(result.schema.d).toMatchObject({ type: 'string' });
    expect(result.schema.y).toMatchObject({ type: 'number', integer: true, min: 0, max: 1, required: true });
  });
});

describe('convertSource: one read of the source when every value fits', () => {
  async function phasesOf(name: string, body: string) {
    const file = path.join(dir, name);
    await fs.writeFile(file, body);
    const phases: string[] = [];
    const snapshotPath = path.join(dir, `${name}.snapshot.parquet`);
    const result = await convertSource({ file: sourceFile(file, name, 'csv'), schema, target: 'y', scratchDir: dir, snapshotPath, settings: dataSettings({ MLCYCLE_DATA_THREADS: '2' }), onPhase: (p) => phases.push(p) });
    return { phases, result, snapshot: await engineRows(snapshotPath) };
  }
  async function engineRows(parquet: string) {
    return withEngine({ scratchDir: dir }, async (e) => (await e.all(`SELECT * FROM read_parquet('${parquet}')`)).getRowObjectsJson());
  }

  it('a clean file is typed and written in one pass; a misfit value sends it through the counted path, same snapshot either way', async () => {
    const clean = await phasesOf('clean.csv', 'x,c,y,extra\n1,a,true,u\n2.5,b,no,v\nNA,a,1,\n');
    expect(clean.phases).toEqual(['read', 'snapshot', 'profile']);
    expect(clean.result.rowCount).toBe(3);
    expect(clean.result.typeErrors).toEqual({});
    expect(clean.snapshot).toEqual([
      { x: 1, c: 'a', y: true, extra: 'u' },
      { x: 2.5, c: 'b', y: false, extra: 'v' },
      { x: null, c: 'a', y: true, extra: null },
    ]);
    expect((clean.result.profile.columns.x as NumberColumnProfile).missing).toBe(1);

    // One misfit (a boolean column holding "maybe"): counted, reported, the value missing.
    const dirty = await phasesOf('dirty.csv', 'x,c,y,extra\n1,a,true,u\n2.5,b,maybe,v\nNA,a,1,\n');
    expect(dirty.phases).toEqual(['read', 'snapshot', 'types', 'snapshot', 'profile']);
    expect(dirty.result.typeErrors.y).toEqual({ expected: 'boolean', count: 1, examples: [{ row: 2, value: 'maybe' }] });
    expect(dirty.snapshot[1]).toEqual({ x: 2.5, c: 'b', y: null, extra: 'v' });
    expect(dirty.snapshot[0]).toEqual(clean.snapshot[0]);
  });
});

describe('convertSource: the reader-typed pass and the counted pass agree on every number form', () => {
  it('spaces, exponents, signs, bare points, missing tokens; inf and NAN are type errors either way', async () => {
    const forms = ['1', ' 2 ', '1e3', '+4', '-0', '.5', '5.', 'NA', '', '-1.25E-2'];
    const body = (yBad: boolean) => 'x,c,y\n' + forms.map((x, i) => `"${x}",a,${yBad && i === 0 ? 'maybe' : 'true'}`).join('\n') + '\n';
    const clean = await convert('forms-clean.csv', body(false));
    const counted = await convert('forms-counted.csv', body(true));
    const xs = async (p: string) => withEngine({ scratchDir: dir }, async (e) => (await e.all(`SELECT x FROM read_parquet('${p}')`)).getColumnsJS()[0]);
    expect(await xs(clean.snapshotPath)).toEqual(await xs(counted.snapshotPath));
    expect(await xs(clean.snapshotPath)).toEqual([1, 2, 1000, 4, -0, 0.5, 5, null, null, -0.0125]);
    expect(clean.result.typeErrors).toEqual({});
    for (const bad of ['inf', 'NAN', '-Infinity', '1,5', '0x10']) {
      const { result } = await convert(`forms-${bad}.csv`, `x,c,y\n1,a,true\n"${bad}",b,false\n`);
      expect(result.typeErrors.x, bad).toEqual({ expected: 'number', count: 1, examples: [{ row: 2, value: bad }] });
    }
  });
});

describe('convertSource: bad inputs are refused with the file and the limit named', () => {
  it('an empty file', async () => {
    await rejects('empty.csv', '', /empty\.csv: the file is empty \(not even a header line\)/);
  });
  it('a header-only file', async () => {
    await rejects('header.csv', 'x,c,y\n', /header\.csv: has no data rows \(only a header line\)/);
  });
  it('duplicate column names', async () => {
    await rejects('dup.csv', 'x,c,x,y\n1,a,2,true\n', /dup\.csv: duplicate column names in the header: "x"/);
  });
  it('a target column absent', async () => {
    await rejects('notarget.csv', 'x,c\n1,a\n', /notarget\.csv: the target column "y" is not in the data \(columns: x, c\)/);
  });
  it('a target entirely missing', async () => {
    await rejects('missingtarget.csv', 'x,c,y\n1,a,\n2,b,NA\n', /missingtarget\.csv: the target column "y" has no values in any of the 2 rows/);
  });
  it('a file that is not the declared format (text declared Parquet, Parquet declared CSV, CSV declared JSONL)', async () => {
    await rejects('text.parquet', 'x,c,y\n1,a,true\n', /text\.parquet: not a readable Parquet file/);
    const { snapshotPath } = await convert('fine.csv', 'x,c,y\n1,a,true\n');
    await rejects('pq-as.csv', await fs.readFile(snapshotPath), /pq-as\.csv: is not a CSV file: line 1 holds binary data \(a Parquet file\?\)/, { format: 'csv' });
    await rejects('csv.jsonl', 'x,c,y\n1,a,true\n', /csv\.jsonl: is not a JSON Lines file at line \d+/);
  });
  it('more columns than the limit (100k columns x 600 rows)', async () => {
    const header = Array.from({ length: 100_000 }, (_, k) => `c${k}`).join(',');
    const row = new Array<string>(100_000).fill('1').join(',');
    const body = [header, ...new Array<string>(600).fill(row)].join('\n');
    await rejects('wide.csv', body, /wide\.csv: has 100000 columns, more than the limit of 10000 \(MLCYCLE_DATA_MAX_COLUMNS\)/);
  });
  it('a line longer than the limit (a 64 MiB single line)', async () => {
    const body = Buffer.alloc(64 * 1024 * 1024, 'a,');
    await rejects('oneline.csv', body, /oneline\.csv: line 1 is longer than the limit of 16777216 bytes per line\/record \(MLCYCLE_DATA_MAX_LINE_BYTES\)/);
  });
  it('a data line longer than the limit further down', async () => {
    const body = `x,c,y\n1,a,true\n"${'z'.repeat(5000)}",b,false\n`;
    await rejects('longrow.csv', body, /longrow\.csv: a line\/record is longer than the limit of 2048 bytes/, { env: { MLCYCLE_DATA_MAX_LINE_BYTES: '2048' } });
  });
  it('a record nested 6000 deep beside a plain column (fuzz seed 687032551): the queries after the read run out of memory', async () => {
    // The read succeeds; typing and profiling the staged nested column exhaust the engine's limit.
    const body = `{"extra":2.96e-228,"__proto__":${'['.repeat(6000)}${']'.repeat(6000)}}\n`;
    await rejects('deep.jsonl', body, /deep\.jsonl: reading it as JSONL needs more memory than the data engine's limit \(MLCYCLE_DATA_MEMORY_LIMIT\)/, { schema: 'infer', target: 'extra' });
  });
});
