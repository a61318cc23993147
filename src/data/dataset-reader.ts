import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { CsvError, parse as parseCsv } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, type FileMetaData, type SchemaTree } from 'hyparquet';
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
  /**
   * Longest one Parquet row group may take to decode before the file is refused as damaged.
   * Default: 2 minutes plus 1 ms per 1,000 values (rows × columns) the row group declares.
   */
  parquetDecodeTimeoutMs?: number;
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
      yield* readParquet(localPath, options.parquetDecodeTimeoutMs);
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
        // NULs between the letters: UTF-16 without a byte order mark the parser could decode.
        if (name.includes('\u0000')) {
          throw new MlcycleError('DATA_INVALID', `${localPath}: line 1: CSV header column ${i + 1} contains NUL characters; is the file UTF-16? Save it as UTF-8`);
        }
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
  const decoder = new StringDecoder('utf8'); // decodes characters split across chunks
  let start = true;
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
    for await (const bytes of source as AsyncIterable<Buffer>) {
      let chunk = bytes;
      if (start) {
        start = false;
        // A byte order mark: UTF-8's is dropped (as the CSV reader does); UTF-16 is not JSONL.
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
        else if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
          throw new MlcycleError('DATA_INVALID', `${localPath}: line 1: the file is UTF-16 encoded (it starts with a UTF-16 byte order mark); JSONL must be UTF-8`);
        }
      }
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop()!;
      yield* take(lines);
    }
    rest += decoder.end();
    if (rest.length > 0) yield* take([rest]);
    if (batch.length > 0) yield batch;
  } catch (err) {
    throw streamError(localPath, err);
  } finally {
    source.destroy();
  }
}

/**
 * Checks that every row group holds one column chunk per leaf column of the schema, in schema
 * order, as Parquet requires. hyparquet starts reading a row group's chunks before it resolves
 * their schema paths; a chunk whose path the schema lacks makes it throw midway and leaves the
 * reads already started to fail later as unhandled rejections. Damaged metadata is refused here,
 * with the row group and column named, before any read starts.
 */
function checkColumnChunks(localPath: string, metadata: FileMetaData): void {
  const leaves: string[] = [];
  const walk = (node: SchemaTree): void => {
    if (node.children.length === 0) leaves.push(node.path.join('.'));
    for (const child of node.children) walk(child);
  };
  for (const child of parquetSchema(metadata).children) walk(child);
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    if (rowGroup.columns.length !== leaves.length) {
      throw new MlcycleError('DATA_INVALID', `${localPath}: Parquet row group ${group} has ${rowGroup.columns.length} column chunks for the schema's ${leaves.length} columns`);
    }
    for (const [i, chunk] of rowGroup.columns.entries()) {
      const at = chunk.meta_data?.path_in_schema?.join('.');
      if (at !== leaves[i]) {
        throw new MlcycleError('DATA_INVALID', `${localPath}: Parquet row group ${group}, column chunk ${i}: holds column "${at ?? '(none)'}" where the schema has "${leaves[i]}"`);
      }
    }
  }
}

/**
 * Decodes row groups in a worker thread. hyparquet trusts the counts a file declares: damaged page
 * data can make it loop for minutes, exhaust memory or reject promises nobody awaits, any of which
 * would stall or kill the whole process (an activity worker, a server). In a thread of its own, a
 * decode that fails, hangs past its time limit or runs out of memory ends that thread only. (The
 * thread also decodes the next row group while the caller works on the current one.)
 */
const DECODER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = require(workerData.hyparquet);
const ready = asyncBufferFromFile(workerData.path).then(async (file) => ({ file, metadata: await parquetMetadataAsync(file) }));
let queue = Promise.resolve();
parentPort.on('message', ({ id, rowStart, rowEnd }) => {
  queue = queue
    .then(() => ready)
    .then(({ file, metadata }) => parquetReadObjects({ file, metadata, rowStart, rowEnd, rowFormat: 'object' }))
    .then((rows) => {
      // Column arrays copy across threads faster than row objects.
      const names = rows.length > 0 ? Object.keys(rows[0]) : [];
      parentPort.postMessage({ id, names, columns: names.map((n) => rows.map((r) => r[n])), count: rows.length });
    })
    .catch((err) => parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) }));
});
`;

interface DecodedMessage {
  id: number;
  names?: string[];
  columns?: unknown[][];
  count?: number;
  error?: string;
}

interface ParquetDecoder {
  decode(rowStart: number, rowEnd: number, timeoutMs: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

function startParquetDecoder(localPath: string): ParquetDecoder {
  const worker = new Worker(DECODER_SOURCE, {
    eval: true,
    workerData: { path: localPath, hyparquet: require.resolve('hyparquet') },
    // As much heap as this thread has: running out ends the decoder, not the process.
    resourceLimits: { maxOldGenerationSizeMb: Math.ceil(v8.getHeapStatistics().heap_size_limit / 2 ** 20) },
  });
  const pending = new Map<number, { resolve: (rows: Record<string, unknown>[]) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  const failAll = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (m: DecodedMessage) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!p) return;
    if (m.error !== undefined) return p.reject(new Error(m.error));
    const names = m.names ?? [];
    const columns = m.columns ?? [];
    const rows = new Array<Record<string, unknown>>(m.count ?? 0);
    for (let i = 0; i < rows.length; i++) {
      const row: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) row[names[c]!] = columns[c]![i];
      rows[i] = row;
    }
    p.resolve(rows);
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`the decoder stopped (exit code ${code})`)));
  return {
    decode(rowStart, rowEnd, timeoutMs) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          failAll(new Error(`decoding did not finish within ${Math.round(timeoutMs / 1000)} s`));
          void worker.terminate();
        }, timeoutMs);
        pending.set(id, {
          resolve: (rows) => (clearTimeout(timer), resolve(rows)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        });
        worker.postMessage({ id, rowStart, rowEnd });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

async function* readParquet(localPath: string, decodeTimeoutMs?: number): AsyncGenerator<Record<string, unknown>[]> {
  let metadata;
  try {
    metadata = await parquetMetadataAsync(await asyncBufferFromFile(localPath));
    checkColumnChunks(localPath, metadata);
  } catch (err) {
    if (err instanceof MlcycleError) throw err;
    throw new MlcycleError('DATA_INVALID', `${localPath}: not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  const groups: Array<{ rowStart: number; rowEnd: number; limit: number }> = [];
  let rowStart = 0;
  for (const rowGroup of metadata.row_groups) {
    const rows = Number(rowGroup.num_rows);
    groups.push({ rowStart, rowEnd: rowStart + rows, limit: decodeTimeoutMs ?? 120_000 + (rows * rowGroup.columns.length) / 1000 });
    rowStart += rows;
  }
  if (groups.length === 0) return;
  const decoder = startParquetDecoder(localPath);
  const request = (g: (typeof groups)[number]) => {
    const p = decoder.decode(g.rowStart, g.rowEnd, g.limit);
    p.catch(() => undefined); // awaited below, unless the caller stops reading first
    return p;
  };
  try {
    let next = request(groups[0]!);
    for (const [group, g] of groups.entries()) {
      let rows: Record<string, unknown>[];
      try {
        rows = await next;
      } catch (err) {
        throw new MlcycleError(
          'DATA_INVALID',
          `${localPath}: cannot decode Parquet row group ${group} (rows ${g.rowStart + 1}-${g.rowEnd}): ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (group + 1 < groups.length) next = request(groups[group + 1]!);
      if (rows.length > 0) yield rows;
    }
  } finally {
    await decoder.close();
  }
}
