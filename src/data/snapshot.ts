/**
 * Ingest's conversion: any source (CSV, Parquet, JSONL, each optionally gzip'd) is read once by the
 * engine into a staged table, checked against the limits, typed by the schema (declared or
 * inferred) and written as the canonical Parquet snapshot that every later step reads column-wise.
 *
 * Typing follows the rules of coerce.ts: the MISSING_TOKENS are missing for every type; numbers are
 * finite decimals; booleans are true/false/1/0/yes/no/y/n/t/f in any case; a value that does not fit
 * its declared type becomes missing in the snapshot and is counted (with examples) as a type error.
 * Row order is the source's, so a row's index in the snapshot is its data row number minus one.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import type { DataSchema, TypeErrorSummary } from './coerce';
import { MISSING_TOKENS } from './coerce';
import type { DataFormat } from './dataset-reader';
import { ident, lit, type Engine } from './engine';

export const STAGED = 'staged';
const TRUE_TOKENS = ['true', '1', 'yes', 'y', 't'];
const FALSE_TOKENS = ['false', '0', 'no', 'n', 'f'];
const WORD_BOOLEANS = ['true', 'false', 'yes', 'no', 'y', 'n', 't', 'f'];
/** Columns per aggregate statement: keeps SQL text and per-query state small on very wide files. */
const COLUMN_BATCH = 200;

function invalid(message: string): MlcycleError {
  return new MlcycleError('DATA_INVALID', message);
}

/** A parenthesized literal list for `IN`. */
const sqlList = (values: readonly string[]) => `(${values.map(lit).join(', ')})`;
const MISSING_SQL = sqlList([...MISSING_TOKENS]);

export interface SourceFile {
  /** Local path the engine reads. */
  path: string;
  /** How the user names it in messages (the spec's URI). */
  name: string;
  format: DataFormat;
  gzip: boolean;
}

export interface StagedColumn {
  name: string;
  /** The reader already turned the missing tokens into NULL (CSV). */
  missingRead?: boolean;
  /** The engine's type of the staged column (VARCHAR for every CSV column). */
  sourceType: string;
}

export interface StagedTable {
  source: SourceFile;
  limits: SourceLimits;
  /** A CSV's delimiter, as the header showed it. */
  delimiter?: string;
  rowCount: number;
  columns: StagedColumn[];
}

// ---------------------------------------------------------------------------------------------
// Reading the source: pre-checks that need no engine, then one read into the staged table

/** Reads up to `max` bytes of the (decompressed) file: enough to judge its first line or bytes. */
async function head(file: SourceFile, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const raw = createReadStream(file.path, { highWaterMark: 1 << 16 });
  const stream = file.gzip ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      chunks.push(b);
      size += b.length;
      if (size >= max || b.includes(0x0a)) break;
    }
  } catch (err) {
    throw invalid(file.gzip ? `${file.name}: not valid gzip data (${(err as Error).message})` : `${file.name}: cannot be read (${(err as Error).message})`);
  } finally {
    raw.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max);
}

function looksBinary(bytes: Buffer): boolean {
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return true;
  return bytes.subarray(0, 8192).includes(0);
}

/** The header of a CSV file: its field names, by the delimiter that splits it into the most fields. */
function csvHeader(file: SourceFile, line: string): { names: string[]; delimiter: string } {
  let best: { names: string[]; delimiter: string } = { names: [line], delimiter: ',' };
  for (const delimiter of [',', ';', '\t', '|']) {
    let rows: string[][];
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- without `columns` csv-parse yields string arrays, which its overloads cannot say
      rows = parseCsv(line, { delimiter, relax_quotes: true, relax_column_count: true, bom: true }) as string[][];
    } catch {
      continue;
    }
    const names = rows[0] ?? [];
    if (names.length > best.names.length) best = { names, delimiter };
  }
  return best;
}

export interface SourceLimits {
  maxColumns: number;
  maxLineBytes: number;
}

/**
 * Checks what can be checked before the engine reads the file: not empty, the declared format
 * (text vs Parquet), the length of the first line, the number of columns and duplicate names of
 * a CSV header. Returns the CSV delimiter.
 */
export async function precheckSource(file: SourceFile, limits: SourceLimits): Promise<{ delimiter?: string }> {
  const stat = await fs.stat(file.path);
  if (stat.size === 0) throw invalid(`${file.name}: the file is empty (not even a header line)`);
  if (file.gzip) {
    const magic = Buffer.alloc(2);
    const fd = await fs.open(file.path, 'r');
    try {
      await fd.read(magic, 0, 2, 0);
    } finally {
      await fd.close();
    }
    if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw invalid(`${file.name}: the name ends in .gz but the file is not gzip-compressed`);
  }
  if (file.format === 'parquet') return {};
  const bytes = await head(file, limits.maxLineBytes + 1);
  if (bytes.length === 0) throw invalid(`${file.name}: the file is empty (not even a header line)`);
  if (looksBinary(bytes)) {
    throw invalid(`${file.name}: is not a ${file.format === 'csv' ? 'CSV' : 'JSON Lines'} file: line 1 holds binary data${bytes.subarray(0, 4).toString('latin1') === 'PAR1' ? ' (a Parquet file?)' : ''}; set data.format to match the file`);
  }
  const nl = bytes.indexOf(0x0a);
  if (nl < 0 && bytes.length > limits.maxLineBytes) {
    throw invalid(`${file.name}: line 1 is longer than the limit of ${limits.maxLineBytes} bytes per line/record (MLCYCLE_DATA_MAX_LINE_BYTES)`);
  }
  if (file.format === 'jsonl') return {};
  const line = bytes.subarray(0, nl < 0 ? bytes.length : nl).toString('utf8').replace(/\r$/, '');
  if (line.trim() === '') throw invalid(`${file.name}: the first line is empty; a CSV file starts with a header line naming its columns`);
  const { names, delimiter } = csvHeader(file, line);
  if (names.length > limits.maxColumns) {
    throw invalid(`${file.name}: has ${names.length} columns, more than the limit of ${limits.maxColumns} (MLCYCLE_DATA_MAX_COLUMNS)`);
  }
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names.map((x) => x.trim())) (seen.has(n) ? dups : seen).add(n);
  if (dups.size > 0) {
    throw invalid(`${file.name}: duplicate column names in the header: ${[...dups].map((d) => JSON.stringify(d)).join(', ')}`);
  }
  return { delimiter };
}

/**
 * The engine's reader of the source. A CSV is read as text (`all_varchar`), or, given `columns`
 * (every column in file order with its engine type), with those types parsed by the reader.
 */
function readerSql(file: SourceFile, limits: SourceLimits, delimiter: string | undefined, columns?: ReadonlyArray<readonly [string, string]>): string {
  const p = lit(file.path);
  const types = columns ? `columns = {${columns.map(([n, t]) => `${lit(n)}: ${lit(t)}`).join(', ')}}` : 'all_varchar = true';
  switch (file.format) {
    case 'csv':
      return (
        `read_csv(${p}, header = true, ${types}, nullstr = [${[...MISSING_TOKENS].map(lit).join(', ')}], max_line_size = ${limits.maxLineBytes}, buffer_size = ${Math.max(2 * limits.maxLineBytes, 8 * 1024 * 1024)}` +
        `${delimiter ? `, delim = ${lit(delimiter)}` : ''}, quote = '"', escape = '"', strict_mode = false, null_padding = true)`
      );
    case 'jsonl':
      return `read_json(${p}, format = 'newline_delimited', maximum_object_size = ${limits.maxLineBytes}, sample_size = -1)`;
    case 'parquet':
      return `read_parquet(${p})`;
  }
}

/** The 1-based line where a CSV's last unclosed `"` opens, for a file below `maxBytes`; undefined when every quote closes. */
function unclosedQuoteLine(localPath: string, maxBytes: number): number | undefined {
  let bytes: Buffer;
  try {
    if (statSync(localPath).size >= maxBytes) return undefined;
    bytes = readFileSync(localPath);
  } catch {
    return undefined;
  }
  let line = 1;
  let inQuote = false;
  let openedAt = 0;
  for (const b of bytes) {
    if (b === 0x22) {
      inQuote = !inQuote;
      if (inQuote) openedAt = line;
    } else if (b === 0x0a) line++;
  }
  return inQuote ? openedAt : undefined;
}

/**
 * The engine ran out of its memory limit on this file: deeply nested or huge records can need
 * more than the engine may use, in the read or in any later query over the staged table. Says
 * which file and which limit; undefined for any other error.
 */
export function engineMemoryError(file: SourceFile, err: unknown): MlcycleError | undefined {
  if (err instanceof MlcycleError) return undefined;
  const msg = err instanceof Error ? err.message : String(err);
  if (!/failed to allocate|out of memory/i.test(msg)) return undefined;
  return invalid(`${file.name}: reading it as ${file.format.toUpperCase()} needs more memory than the data engine's limit (MLCYCLE_DATA_MEMORY_LIMIT); a record may be very large or deeply nested`);
}

/** Rewrites the engine's message for a user: which file, what is wrong. */
function readError(file: SourceFile, limits: SourceLimits, err: unknown): MlcycleError {
  const msg = (err as Error).message ?? String(err);
  const first = msg.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
  if (/maximum line size|Maximum line size|maximum_object_size|maximum object size/i.test(msg)) {
    // A CSV smaller than the limit has no such line: a quoted field that is never closed makes the
    // engine read the rest of the file as one record. Say where that quote opens.
    const open = file.format === 'csv' && !file.gzip ? unclosedQuoteLine(file.path, limits.maxLineBytes) : undefined;
    if (open !== undefined) return invalid(`${file.name}: line ${open}: a quoted field opens here and is never closed, so the rest of the file reads as one record`);
    return invalid(`${file.name}: a line/record is longer than the limit of ${limits.maxLineBytes} bytes (MLCYCLE_DATA_MAX_LINE_BYTES)`);
  }
  const memory = engineMemoryError(file, err);
  if (memory) return memory;
  // The engine names the local copy; the user knows the source by its URI.
  const said = first.split(file.path).join(file.name).replace(/\s+/g, ' ').slice(0, 300);
  const line = /\bLine:? (\d+)/i.exec(msg)?.[1];
  const where = line ? ` at line ${line}` : '';
  if (/gzip|decompress|zlib|inflate/i.test(msg)) return invalid(`${file.name}: not valid gzip data${where} (${said})`);
  if (file.format === 'parquet') return invalid(`${file.name}: not a readable Parquet file (${said}); set data.format to match the file`);
  if (file.format === 'jsonl' && /JSON/i.test(msg)) return invalid(`${file.name}: is not a JSON Lines file${where}: ${said}; set data.format to match the file`);
  if (file.format === 'csv') return invalid(`${file.name}: is not a well-formed CSV file${where}: ${said}`);
  return invalid(`${file.name}: cannot be read as ${file.format.toUpperCase()}${where}: ${said}`);
}

/**
 * Reads the source once into the engine's staged table. Fails with DATA_INVALID naming the file
 * for: an empty file, the wrong format, a line/record over the byte limit, too many columns,
 * duplicate column names, a file with no data rows.
 */
export async function stageSource(engine: Engine, file: SourceFile): Promise<StagedTable> {
  return countStaged(engine, await openSource(engine, file));
}

/** Counts the rows of an opened source: a full read, which also meets any malformed record. */
export async function countStaged(engine: Engine, staged: Omit<StagedTable, 'rowCount'>): Promise<StagedTable> {
  const file = staged.source;
  let rowCount: number;
  try {
    const count = await engine.all(`SELECT count(*)::DOUBLE AS n FROM ${STAGED}`);
    rowCount = Number(count.getRowObjectsJson()[0]!.n);
  } catch (err) {
    if ((err as Error).name === 'EngineAborted') throw err;
    throw readError(file, staged.limits, err);
  }
  return counted(staged, rowCount);
}

/** The staged table with its row count, once something has counted it; a file without rows fails. */
export function counted(staged: Omit<StagedTable, 'rowCount'>, rowCount: number): StagedTable {
  const file = staged.source;
  if (rowCount === 0) {
    throw invalid(`${file.name}: has no data rows${file.format === 'csv' ? ' (only a header line)' : ''}`);
  }
  return { ...staged, rowCount };
}

/**
 * stageSource without its counting pass (a caller whose next pass counts anyway): the checks that
 * need no read of the rows, and the staged view.
 */
export async function openSource(engine: Engine, file: SourceFile): Promise<Omit<StagedTable, 'rowCount'>> {
  const limits: SourceLimits = { maxColumns: engine.settings.maxColumns, maxLineBytes: engine.settings.maxLineBytes };
  const { delimiter } = await precheckSource(file, limits);
  const reader = readerSql(file, limits, delimiter);
  let columns: StagedColumn[];
  try {
    // Column names and types first (metadata and the sniffer's sample only): a too-wide file is
    // refused before its rows are read.
    const described = await engine.all(`DESCRIBE SELECT * FROM ${reader}`);
    columns = described.getRowObjectsJson().map((r) => ({ name: String(r.column_name), sourceType: String(r.column_type), ...(file.format === 'csv' ? { missingRead: true } : {}) }));
  } catch (err) {
    if (err instanceof MlcycleError || (err as Error).name === 'EngineAborted') throw err;
    throw readError(file, limits, err);
  }
  if (columns.length > limits.maxColumns) {
    throw invalid(`${file.name}: has ${columns.length} columns, more than the limit of ${limits.maxColumns} (MLCYCLE_DATA_MAX_COLUMNS)`);
  }
  const dup = columns.find((c, i) => columns.findIndex((d) => d.name.toLowerCase() === c.name.toLowerCase()) !== i);
  if (dup) throw invalid(`${file.name}: duplicate column name ${JSON.stringify(dup.name)} (column names must be unique, ignoring case)`);
  if (columns.length === 0) throw invalid(`${file.name}: has no columns`);
  try {
    // A view, not a table: the reader is fast enough to run once per pass (facts, type errors,
    // snapshot), and storing every value as text first costs more than parsing it again.
    await engine.run(`CREATE OR REPLACE VIEW ${STAGED} AS SELECT * FROM ${reader}`);
  } catch (err) {
    if ((err as Error).name === 'EngineAborted') throw err;
    throw readError(file, limits, err);
  }
  return { source: file, limits, columns, ...(delimiter ? { delimiter } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Typing: SQL expressions that turn a staged column into its declared type

type Kind = 'varchar' | 'number' | 'boolean' | 'other';

function kindOf(sourceType: string): Kind {
  const t = sourceType.toUpperCase();
  if (t === 'VARCHAR') return 'varchar';
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/.test(t)) return 'number';
  return 'other';
}

/** The staged value with missing tokens as NULL (text), or the value itself. */
function normalized(col: StagedColumn): string {
  const c = ident(col.name);
  switch (kindOf(col.sourceType)) {
    case 'varchar':
      // CSV: the reader's nullstr list did it (untrimmed tokens); other formats: here, trimmed.
      return col.missingRead ? c : `(CASE WHEN trim(${c}) IN ${MISSING_SQL} THEN NULL ELSE ${c} END)`;
    case 'number':
      return `(CASE WHEN isnan(${c}::DOUBLE) THEN NULL ELSE ${c} END)`;
    case 'other':
      return `(${c}::VARCHAR)`;
    default:
      return c;
  }
}

/** SQL turning a staged column into `type`; NULL where missing or where the value does not fit. */
export function typedExpr(col: StagedColumn, type: ColumnRule['type']): string {
  const v = normalized(col);
  const kind = kindOf(col.sourceType);
  switch (type) {
    case 'number':
      if (kind === 'number') return `(CASE WHEN isfinite(${v}::DOUBLE) THEN ${v}::DOUBLE END)`;
      if (kind === 'boolean') return `(NULL::DOUBLE)`;
      return `(CASE WHEN isfinite(TRY_CAST(${v}::VARCHAR AS DOUBLE)) THEN TRY_CAST(${v}::VARCHAR AS DOUBLE) END)`;
    case 'boolean':
      if (kind === 'boolean') return v;
      if (kind === 'number') return `(CASE WHEN ${v} = 1 THEN true WHEN ${v} = 0 THEN false END)`;
      return `(CASE WHEN lower(trim(${v}::VARCHAR)) IN ${sqlList(TRUE_TOKENS)} THEN true WHEN lower(trim(${v}::VARCHAR)) IN ${sqlList(FALSE_TOKENS)} THEN false END)`;
    default:
      if (kind === 'number') {
        // Integral numbers print without ".0", as the row readers wrote them.
        return `(CASE WHEN ${v}::DOUBLE = round(${v}::DOUBLE) AND abs(${v}::DOUBLE) < 1e15 THEN ${v}::DOUBLE::BIGINT::VARCHAR ELSE ${v}::VARCHAR END)`;
      }
      return `(${v}::VARCHAR)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Facts per column: one aggregate pass feeds both schema inference and the type errors

export interface ColumnFacts {
  name: string;
  sourceType: string;
  /** Values that are not missing. */
  present: number;
  /** ... of which parse as finite numbers / as integers / as word booleans (true, no, y, ...). */
  numeric: number;
  integer: number;
  wordBoolean: number;
  /** ... of which read as booleans by the boolean rules (word booleans, 1 and 0). */
  anyBoolean: number;
  /** Approximate distinct non-missing values (HyperLogLog). */
  distinct: number;
  min: number | null;
  max: number | null;
}

/**
 * With a declared schema only the counts type errors need are computed (`schema`); without one
 * (inference) every fact.
 */
export async function columnFacts(engine: Engine, staged: StagedTable, schema?: DataSchema): Promise<ColumnFacts[]> {
  const out: ColumnFacts[] = [];
  for (let i = 0; i < staged.columns.length; i += COLUMN_BATCH) {
    engine.check();
    const batch = staged.columns.slice(i, i + COLUMN_BATCH);
    // Each value is normalized, parsed and lower-cased once (inner projections); the aggregates
    // read those.
    const l1: string[] = [];
    const l2: string[] = [];
    const parts: string[] = [];
    const ALL_BOOL = sqlList([...TRUE_TOKENS, ...FALSE_TOKENS]);
    batch.forEach((col, j) => {
      const kind = kindOf(col.sourceType);
      l1.push(`${normalized(col)} AS v${j}`);
      const x = kind === 'number' ? `v${j}::DOUBLE` : kind === 'boolean' ? 'NULL::DOUBLE' : `TRY_CAST(v${j}::VARCHAR AS DOUBLE)`;
      l2.push(`v${j}`, `${x} AS x${j}`, kind === 'varchar' ? `lower(trim(v${j})) AS l${j}` : `NULL::VARCHAR AS l${j}`);
      const finite = `isfinite(x${j})`;
      const declared = schema ? (Object.hasOwn(schema, col.name) ? schema[col.name]!.type : 'string') : undefined;
      if (declared !== undefined) {
        // Declared: presence, and whether values fit a number or boolean column.
        const fit =
          declared === 'number' ? `count(*) FILTER (WHERE ${finite})` : declared === 'boolean' ? (kind === 'boolean' ? `count(v${j})` : kind === 'number' ? `count(*) FILTER (WHERE x${j} IN (0, 1))` : `count(*) FILTER (WHERE l${j} IN ${ALL_BOOL})`) : '0';
        parts.push(`count(v${j})::DOUBLE AS p${j}, ${declared === 'number' ? fit : '0'}::DOUBLE AS n${j}, 0::DOUBLE AS i${j}, 0::DOUBLE AS w${j}, ${declared === 'boolean' ? fit : '0'}::DOUBLE AS b${j}, 0::DOUBLE AS d${j}, NULL::DOUBLE AS mn${j}, NULL::DOUBLE AS mx${j}`);
        return;
      }
      const word = kind === 'boolean' ? `count(v${j})` : `count(*) FILTER (WHERE l${j} IN ${sqlList(WORD_BOOLEANS)})`;
      const anyBool = kind === 'boolean' ? `count(v${j})` : kind === 'number' ? `count(*) FILTER (WHERE x${j} IN (0, 1))` : `count(*) FILTER (WHERE l${j} IN ${ALL_BOOL})`;
      parts.push(
        `count(v${j})::DOUBLE AS p${j}, count(*) FILTER (WHERE ${finite})::DOUBLE AS n${j}, count(*) FILTER (WHERE ${finite} AND x${j} = round(x${j}))::DOUBLE AS i${j}, ` +
          `${word}::DOUBLE AS w${j}, ${anyBool}::DOUBLE AS b${j}, approx_count_distinct(v${j})::DOUBLE AS d${j}, ` +
          `min(x${j}) FILTER (WHERE ${finite}) AS mn${j}, max(x${j}) FILTER (WHERE ${finite}) AS mx${j}`,
      );
    });
    let row: Record<string, unknown>;
    try {
      row = (await engine.all(`SELECT ${parts.join(', ')} FROM (SELECT ${l2.join(', ')} FROM (SELECT ${l1.join(', ')} FROM ${STAGED}))`)).getRowObjectsJson()[0]!;
    } catch (err) {
      if ((err as Error).name === 'EngineAborted') throw err;
      throw readError(staged.source, staged.limits, err);
    }
    batch.forEach((col, j) => {
      const n = (k: string) => (row[`${k}${j}`] === null ? null : Number(row[`${k}${j}`]));
      out.push({
        name: col.name,
        sourceType: col.sourceType,
        present: n('p') ?? 0,
        numeric: n('n') ?? 0,
        integer: n('i') ?? 0,
        wordBoolean: n('w') ?? 0,
        anyBoolean: n('b') ?? 0,
        distinct: n('d') ?? 0,
        min: n('mn'),
        max: n('mx'),
      });
    });
  }
  return out;
}

/** Most distinct values a text column may have to be inferred as a category rather than a string. */
export const INFER_MAX_CATEGORIES = 50;

export interface InferOptions {
  target?: string;
  /** Category values are listed from the data: the engine counts them. */
  categoryValues: (column: string) => Promise<string[]>;
}

/**
 * A schema from the data: number (with `integer` and observed min/max), boolean, category (at
 * most INFER_MAX_CATEGORIES distinct values, fewer than half the rows; the target always when
 * it is text) or string. A column that is entirely missing is a string that is not required.
 */
export async function inferSchema(facts: readonly ColumnFacts[], rowCount: number, options: InferOptions): Promise<Record<string, ColumnRule>> {
  const schema: Record<string, ColumnRule> = {};
  for (const f of facts) {
    const required = f.present === rowCount;
    if (f.present === 0) {
      schema[f.name] = { type: 'string', required: false };
    } else if (f.wordBoolean === f.present || (kindOf(f.sourceType) === 'boolean')) {
      schema[f.name] = { type: 'boolean', required };
    } else if (f.numeric === f.present) {
      const isTarget = f.name === options.target;
      if (isTarget && f.integer === f.present && f.distinct <= INFER_MAX_CATEGORIES && f.min === 0 && f.max === 1) {
        schema[f.name] = { type: 'number', required, integer: true, min: 0, max: 1 };
      } else {
        schema[f.name] = { type: 'number', required, ...(f.integer === f.present ? { integer: true } : {}), ...(f.min !== null ? { min: f.min } : {}), ...(f.max !== null ? { max: f.max } : {}) };
      }
    } else if ((f.distinct <= INFER_MAX_CATEGORIES && f.distinct < Math.max(2, rowCount / 2)) || (f.name === options.target && f.distinct <= 1000)) {
      const values = await options.categoryValues(f.name);
      schema[f.name] = values.length > 0 ? { type: 'category', values, required } : { type: 'string', required };
    } else {
      schema[f.name] = { type: 'string', required };
    }
  }
  return schema;
}

/** Distinct non-missing values of a staged column as text, sorted. */
export async function distinctValues(engine: Engine, staged: StagedTable, column: string, limit: number): Promise<string[]> {
  const col = staged.columns.find((c) => c.name === column);
  if (!col) return [];
  const expr = typedExpr(col, 'category');
  const r = await engine.all(`SELECT DISTINCT ${expr} AS v FROM ${STAGED} WHERE ${expr} IS NOT NULL ORDER BY v LIMIT ${limit}`);
  return r.getRowObjectsJson().map((x) => String(x.v));
}

/**
 * Values of declared columns that do not fit their type: counts from the facts pass, and the
 * first examples (1-based data rows) read only for the columns that have any.
 */
export async function typeErrors(engine: Engine, staged: StagedTable, schema: DataSchema, facts: readonly ColumnFacts[], maxExamples = 5): Promise<TypeErrorSummary> {
  const summary: TypeErrorSummary = {};
  for (const f of facts) {
    if (!Object.hasOwn(schema, f.name)) continue;
    const type = schema[f.name]!.type;
    const count = type === 'number' ? f.present - f.numeric : type === 'boolean' ? f.present - f.anyBoolean : 0;
    if (count <= 0) continue;
    engine.check();
    const col = staged.columns.find((c) => c.name === f.name)!;
    // Rows are numbered in reading order (the reader keeps the file's order).
    const ex = await engine.all(
      `SELECT r, left(v::VARCHAR, 60) AS v FROM (SELECT row_number() OVER () AS r, ${normalized(col)} AS v, ${typedExpr(col, type)} AS t FROM ${STAGED}) WHERE v IS NOT NULL AND t IS NULL ORDER BY r LIMIT ${maxExamples}`,
    );
    summary[f.name] = { expected: type, count, examples: ex.getRowObjectsJson().map((x) => ({ row: Number(x.r), value: String(x.v) })) };
  }
  return summary;
}

/**
 * The snapshot's Parquet writer settings. zstd at level 1 rather than the writer's default 3: on a
 * 10M × 20 CSV the bare write took 9.4 s instead of 14.7 s for a file 17% larger (1.31 vs 1.12 GB;
 * bench/data-plane.ts), and reading is as fast. Row groups of 122,880 rows (the engine's vector
 * batches) keep memory per group bounded.
 */
export const SNAPSHOT_PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 122880';

/** What a strict snapshot write learned from the Parquet writer's own statistics (no extra scan). */
export interface StrictSnapshot {
  rowCount: number;
  /** Non-missing values per written column. */
  present: Map<string, number>;
}

const TYPE_MISFIT = 'mlcycle: a value does not fit its declared type';

/**
 * The one-pass write for the common case, a source whose values all fit the declared types: the
 * snapshot is written as writeSnapshot would, in the same read of the source, and a value that
 * does not fit raises inside the engine instead of becoming NULL. Returns undefined when any
 * value does not fit (or the read fails in any way): the caller then takes the counted path
 * (columnFacts, typeErrors, writeSnapshot), which reports each misfit or names the read error.
 * Row and present counts come from the writer's statistics (RETURN_STATS), not from another scan.
 */
export async function writeSnapshotStrict(engine: Engine, staged: Omit<StagedTable, 'rowCount'>, schema: DataSchema, outPath: string): Promise<StrictSnapshot | undefined> {
  const inner: string[] = [];
  const outer: string[] = [];
  const fail = `error(${lit(TYPE_MISFIT)})`;
  const checkFinite = new Set<string>();
  const typeOf = (name: string) => (Object.hasOwn(schema, name) ? schema[name]!.type : 'string');
  // A CSV's number columns are parsed by the reader itself (as the engine's own scan does), the
  // rest read as text; a value the reader cannot parse fails the read, and so this path.
  const csv = staged.source.format === 'csv';
  const from = csv
    ? readerSql(
        staged.source,
        staged.limits,
        staged.delimiter,
        staged.columns.map((c) => [c.name, typeOf(c.name) === 'number' ? 'DOUBLE' : 'VARCHAR'] as const),
      )
    : STAGED;
  staged.columns.forEach((col, j) => {
    const type = typeOf(col.name);
    const name = ident(col.name);
    if (csv && type === 'number') {
      // Parsed as DOUBLE: "nan" and "inf" parse, but are not finite decimals. They are caught after
      // the write from the writer's statistics (has_nan, min, max) rather than by a check per value.
      inner.push(`${name} AS v${j}`);
      outer.push(`v${j} AS ${name}`);
      checkFinite.add(col.name);
      return;
    }
    if (type !== 'number' && type !== 'boolean') {
      inner.push(`${typedExpr(col, type)} AS ${name}`);
      outer.push(name);
      return;
    }
    // Each value is normalized and typed once (inner), then checked (outer).
    inner.push(`${normalized(col)} AS v${j}`, `${typedExpr(col, type)} AS t${j}`);
    outer.push(`(CASE WHEN t${j} IS NULL AND v${j} IS NOT NULL THEN ${fail} ELSE t${j} END) AS ${name}`);
  });
  let stats: Record<string, unknown> | undefined;
  try {
    const r = await engine.all(
      `COPY (SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${from})) TO ${lit(outPath)} (${SNAPSHOT_PARQUET_OPTIONS}, RETURN_STATS)`,
    );
    stats = r.getRowObjectsJson()[0];
  } catch (err) {
    if ((err as Error).name === 'EngineAborted') throw err;
    return undefined;
  }
  if (!stats) return { rowCount: 0, present: new Map() };
  const rowCount = Number(stats.count);
  const present = new Map<string, number>();
  const byKey = new Map<string, Map<string, string>>();
  for (const entry of (stats.column_statistics ?? []) as Array<{ key: string; value: Array<{ key: string; value: string }> }>) {
    byKey.set(entry.key, new Map(entry.value.map((kv) => [kv.key, kv.value])));
  }
  for (const col of staged.columns) {
    // The writer names columns as SQL identifiers ("a", "we""ird").
    const colStats = byKey.get(ident(col.name)) ?? byKey.get(col.name);
    const nulls = colStats?.get('null_count');
    if (colStats === undefined || nulls === undefined) return undefined;
    // A NaN or an infinity does not fit a number column: the counted path names the rows.
    if (checkFinite.has(col.name) && !allFinite(colStats)) return undefined;
    present.set(col.name, rowCount - Number(nulls));
  }
  return { rowCount, present };
}

/**
 * Whether the writer's statistics of a DOUBLE column rule out NaN and infinities: `has_nan` says
 * "false" (a writer that does not say counts as having seen one) and min/max, when any, are finite.
 */
function allFinite(stats: ReadonlyMap<string, string>): boolean {
  if (stats.get('has_nan') !== 'false') return false;
  return [stats.get('min'), stats.get('max')].every((v) => v === undefined || Number.isFinite(Number(v)));
}

/**
 * Writes the canonical snapshot: the schema's columns typed as declared, then the other columns
 * typed as inferred (`extraTypes`), in source row order, zstd-compressed Parquet (SNAPSHOT_PARQUET_OPTIONS).
 */
export async function writeSnapshot(engine: Engine, staged: StagedTable, schema: DataSchema, extraTypes: Record<string, ColumnRule['type']>, outPath: string): Promise<void> {
  const exprs = staged.columns.map((col) => {
    const type = Object.hasOwn(schema, col.name) ? schema[col.name]!.type : (extraTypes[col.name] ?? 'string');
    return `${typedExpr(col, type)} AS ${ident(col.name)}`;
  });
  // Declared columns absent from the data are left out: the profile reports them as absent.
  await engine.run(`COPY (SELECT ${exprs.join(', ')} FROM ${STAGED}) TO ${lit(outPath)} (${SNAPSHOT_PARQUET_OPTIONS})`);
}
