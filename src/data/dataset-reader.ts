import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { CsvError, parse as parseCsv } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { MlcycleError } from '../errors';

export { coerceRow, createRowCoercer, createTypeErrorCollector, MISSING_TOKENS } from './coerce';
export type {
  Cell,
  CellTypeError,
  CoercedRow,
  ColumnTypeErrors,
  DataSchema,
  Row,
  RowCoercer,
  TypeErrorCollector,
  TypeErrorExample,
  TypeErrorSummary,
} from './coerce';

export type DataFormat = 'csv' | 'parquet' | 'jsonl';
export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'parquet', 'jsonl'];

const EXTENSIONS: Record<string, DataFormat> = {
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

/** Format from the file name (`.csv`, `.parquet`/`.pq`, `.jsonl`/`.ndjson`, each optionally `.gz`). */
export function inferFormat(filePath: string): { format: DataFormat; gzip: boolean } {
  const lower = filePath.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const ext = path.extname(gzip ? lower.slice(0, -3) : lower);
  const format = EXTENSIONS[ext];
  if (!format) {
    throw new MlcycleError(
      'DATA_INVALID',
      `${filePath}: cannot tell the data format from the extension "${ext || '(none)'}"; ` +
        `use .csv, .parquet or .jsonl (optionally .gz), or set data.format in the spec`,
    );
  }
  return { format, gzip };
}

export interface ReadOptions {
  /** Records per batch from `readBatches` (CSV and JSONL; Parquet batches are its row groups). Default 10,000. */
  batchSize?: number;
}

/**
 * Streams the records of a local CSV (header row, every value a string), JSONL (one JSON object per
 * line) or Parquet file (read one row group at a time) as plain objects. `.gz` files are
 * decompressed on the fly (CSV and JSONL). Malformed input throws MlcycleError DATA_INVALID naming
 * the file and line (or row group), after the records before it; a missing file throws NOT_FOUND.
 * Values are as the format holds them: run them through `coerceRow` for the schema's types.
 */
export async function* readRows(localPath: string, format?: DataFormat): AsyncGenerator<Record<string, unknown>> {
  for await (const batch of readBatches(localPath, format)) yield* batch;
}

/**
 * `readRows` in arrays of records: the fast path for large files, with one await per batch
 * instead of one per record. Batches are never empty.
 */
export async function* readBatches(localPath: string, format?: DataFormat, options: ReadOptions = {}): AsyncGenerator<Record<string, unknown>[]> {
  let gzip = localPath.toLowerCase().endsWith('.gz');
  if (format === undefined) ({ format, gzip } = inferFormat(localPath));
  else if (!DATA_FORMATS.includes(format)) {
    throw new MlcycleError('DATA_INVALID', `${localPath}: unknown data format "${String(format)}"; expected csv, parquet or jsonl`);
  }
  const batchSize = Math.max(1, options.batchSize ?? 10_000);
  await assertReadable(localPath);
  switch (format) {
    case 'csv':
      yield* readCsv(localPath, gzip, batchSize);
      return;
    case 'jsonl':
      yield* readJsonl(localPath, gzip, batchSize);
      return;
    case 'parquet':
      if (gzip) {
        throw new MlcycleError('DATA_INVALID', `${localPath}: gzip-compressed Parquet is not supported (Parquet compresses internally)`);
      }
      yield* readParquet(localPath);
      return;
  }
}

async function assertReadable(localPath: string): Promise<void> {
  try {
    const st = await fs.promises.stat(localPath);
    if (!st.isFile()) throw new MlcycleError('DATA_INVALID', `${localPath}: not a regular file`);
  } catch (err) {
    if (err instanceof MlcycleError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new MlcycleError(code === 'ENOENT' ? 'NOT_FOUND' : 'DATA_INVALID', `cannot read data file ${localPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function openStream(localPath: string, gzip: boolean): Readable {
  const file = fs.createReadStream(localPath, { highWaterMark: 1 << 20 });
  if (!gzip) return file;
  const gunzip = zlib.createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

function streamError(localPath: string, err: unknown): MlcycleError {
  if (err instanceof MlcycleError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code?.startsWith('Z_')) return new MlcycleError('DATA_INVALID', `${localPath}: not valid gzip data: ${e.message}`, { cause: err });
  return new MlcycleError('DATA_INVALID', `${localPath}: read failed: ${e.message}`, { cause: err });
}

/**
 * Groups the records of an object-mode stream into arrays. The stream itself keeps flowing (so a
 * record emitted before a parse error is never lost in its buffer); backpressure is applied to
 * `upstream` instead, which is paused while two batches wait to be taken. Records that arrived
 * before an error are yielded before it is thrown.
 */
async function* objectBatches<T>(stream: Readable, upstream: Readable, batchSize: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  const ready: T[][] = [];
  let ended = false;
  let failed = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  stream.on('data', (record: T) => {
    batch.push(record);
    if (batch.length >= batchSize) {
      ready.push(batch);
      batch = [];
      if (ready.length >= 2) upstream.pause();
      notify();
    }
  });
  stream.once('end', () => {
    ended = true;
    notify();
  });
  stream.once('error', (err) => {
    failed = true;
    failure = err;
    notify();
  });
  for (;;) {
    const next = ready.shift();
    if (next) {
      yield next;
      continue;
    }
    if (ended || failed) {
      if (batch.length > 0) {
        const last = batch;
        batch = [];
        yield last;
      }
      if (failed) throw failure;
      return;
    }
    const woken = new Promise<void>((resolve) => (wake = resolve));
    if (upstream.isPaused()) upstream.resume();
    await woken;
  }
}

async function* readCsv(localPath: string, gzip: boolean, batchSize: number): AsyncGenerator<Record<string, unknown>[]> {
  const source = openStream(localPath, gzip);
  const parser = parseCsv({
    bom: true,
    skip_empty_lines: true,
    columns: (header: string[]) => {
      const seen = new Set<string>();
      for (const [i, name] of header.entries()) {
        if (name.trim() === '') throw new MlcycleError('DATA_INVALID', `${localPath}: line 1: CSV header column ${i + 1} has no name`);
        if (seen.has(name)) throw new MlcycleError('DATA_INVALID', `${localPath}: line 1: CSV header names column "${name}" twice`);
        seen.add(name);
      }
      return header;
    },
  });
  source.on('error', (err) => parser.destroy(streamError(localPath, err)));
  source.pipe(parser);
  try {
    yield* objectBatches<Record<string, string>>(parser, source, batchSize);
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? err.lines : parser.info.lines;
      throw new MlcycleError('DATA_INVALID', `${localPath}: malformed CSV at line ${line}: ${err.message}`, { cause: err });
    }
    throw streamError(localPath, err);
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function parseJsonLine(localPath: string, line: string, lineNo: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new MlcycleError('DATA_INVALID', `${localPath}: invalid JSON at line ${lineNo}: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MlcycleError(
      'DATA_INVALID',
      `${localPath}: line ${lineNo} is not a JSON object (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`,
    );
  }
  return value as Record<string, unknown>;
}

async function* readJsonl(localPath: string, gzip: boolean, batchSize: number): AsyncGenerator<Record<string, unknown>[]> {
  const source = openStream(localPath, gzip);
  source.setEncoding('utf8'); // decodes characters split across chunks
  let rest = '';
  let lineNo = 0;
  let batch: Record<string, unknown>[] = [];
  // Parses the complete lines of `text`; a bad line throws after the good ones before it are out.
  function* take(lines: string[]): Generator<Record<string, unknown>[]> {
    for (const raw of lines) {
      lineNo++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim().length === 0) continue;
      let record: Record<string, unknown>;
      try {
        record = parseJsonLine(localPath, line, lineNo);
      } catch (err) {
        if (batch.length > 0) yield batch;
        batch = [];
        throw err;
      }
      batch.push(record);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  try {
    for await (const chunk of source as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      yield* take(lines);
    }
    if (rest.length > 0) yield* take([rest]);
    if (batch.length > 0) yield batch;
  } catch (err) {
    throw streamError(localPath, err);
  } finally {
    source.destroy();
  }
}

async function* readParquet(localPath: string): AsyncGenerator<Record<string, unknown>[]> {
  let file;
  let metadata;
  try {
    file = await asyncBufferFromFile(localPath);
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new MlcycleError('DATA_INVALID', `${localPath}: not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  let rowStart = 0;
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(rowGroup.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, rowFormat: 'object' });
    } catch (err) {
      throw new MlcycleError(
        'DATA_INVALID',
        `${localPath}: cannot decode Parquet row group ${group} (rows ${rowStart + 1}-${rowEnd}): ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (rows.length > 0) yield rows;
    rowStart = rowEnd;
  }
}
