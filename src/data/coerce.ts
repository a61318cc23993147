import type { ColumnRule } from '../spec/pipeline-spec';

/** The `data.schema` section of a pipeline spec: column name → rule. */
export type DataSchema = Readonly<Record<string, ColumnRule>>;
export type ColumnType = ColumnRule['type'];

/**
 * A value after coercion to its declared type. `null` = present but missing (empty, NA, null, or a
 * value that failed coercion); `undefined` = the column was absent from the record altogether.
 */
export type Cell = number | string | boolean | null | undefined;
export type Row = Record<string, Cell>;

/** One value that did not fit its declared type. Recorded, not thrown, so validation can report it. */
export interface CellTypeError {
  column: string;
  expected: ColumnType;
  /** The offending value, rendered as a short string. */
  value: string;
}

export interface CoercedRow {
  /** Only the schema's columns, in schema order. Type errors become `null` (unusable = missing). */
  row: Row;
  /** Empty (a shared frozen array) when every value fit. */
  typeErrors: readonly CellTypeError[];
}

/**
 * Cell texts read as missing, after trimming (the usual pandas `na_values` subset). They count as
 * missing for every column type, so a string column cannot hold the literal text "NA".
 */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'na', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None']);

const TRUE_TOKENS: ReadonlySet<string> = new Set(['true', '1', 'yes', 'y', 't']);
const FALSE_TOKENS: ReadonlySet<string> = new Set(['false', '0', 'no', 'n', 'f']);
/** Plain decimal numbers only: `Number()` alone would also take "0x1f", "Infinity" and " ". */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const NO_ERRORS: readonly CellTypeError[] = Object.freeze([]);
/** Returned by a converter for a value that does not fit the type. */
const BAD = Symbol('bad');
type Converter = (v: unknown) => Cell | typeof BAD;

function describe(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'bigint') s = `${v}`;
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      // Too deeply nested to render (String() would recurse just as deep): name the kind only.
      s = Array.isArray(v) ? '[a deeply nested list]' : '{a deeply nested object}';
    }
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function toNumber(v: unknown): Cell | typeof BAD {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? null : BAD;
  if (typeof v === 'string') {
    const s = v.trim();
    if (MISSING_TOKENS.has(s)) return null;
    if (!DECIMAL.test(s)) return BAD;
    // "1e999" is decimal text but no finite number: a type error, not an Infinity in the data.
    const n = Number(s);
    return Number.isFinite(n) ? n : BAD;
  }
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isFinite(n) ? n : BAD;
  }
  return BAD;
}

function toBoolean(v: unknown): Cell | typeof BAD {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (MISSING_TOKENS.has(s)) return null;
    const lower = s.toLowerCase();
    if (TRUE_TOKENS.has(lower)) return true;
    if (FALSE_TOKENS.has(lower)) return false;
    return BAD;
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (v == 1) return true; // loose equality: 1 and 1n alike
    if (v == 0) return false;
    return Number.isNaN(v) ? null : BAD;
  }
  return BAD;
}

function toText(v: unknown): Cell | typeof BAD {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    // Keep the text as written; only the missing check looks at the trimmed form.
    return MISSING_TOKENS.has(v.trim()) ? null : v;
  }
  if (typeof v === 'number') return Number.isNaN(v) ? null : String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  return BAD;
}

const CONVERTERS: Record<ColumnType, Converter> = {
  number: toNumber,
  boolean: toBoolean,
  category: toText,
  string: toText,
};

export type RowCoercer = (raw: Readonly<Record<string, unknown>>) => CoercedRow;

/** Compiles a schema once into a coercer, so the per-row path does no schema lookups. */
export function createRowCoercer(schema: DataSchema): RowCoercer {
  const names = Object.keys(schema);
  const types = names.map((n) => schema[n]!.type);
  const converters = types.map((t) => CONVERTERS[t]);
  const count = names.length;
  return (raw) => {
    const row: Row = {};
    let errors: CellTypeError[] | undefined;
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      const v = raw[name];
      if (v === undefined) {
        row[name] = undefined;
        continue;
      }
      const c = converters[i]!(v);
      if (c === BAD) {
        row[name] = null;
        (errors ??= []).push({ column: name, expected: types[i]!, value: describe(v) });
      } else {
        row[name] = c;
      }
    }
    return { row, typeErrors: errors ?? NO_ERRORS };
  };
}

const coercers = new WeakMap<DataSchema, RowCoercer>();

/**
 * Converts one raw record (CSV strings, JSON values, Parquet values) to the schema's declared types:
 * number (decimal text, finite numbers, bigint), boolean (true/false/1/0/yes/no/y/n/t/f, any case),
 * category and string (text kept as written). Empty text and the {@link MISSING_TOKENS} become
 * `null`; a column absent from the record stays `undefined`. Columns not in the schema are dropped.
 */
export function coerceRow(raw: Readonly<Record<string, unknown>>, schema: DataSchema): CoercedRow {
  let coerce = coercers.get(schema);
  if (!coerce) {
    coerce = createRowCoercer(schema);
    coercers.set(schema, coerce);
  }
  return coerce(raw);
}

export interface TypeErrorExample {
  /** 1-based data row (the header line of a CSV is not counted). */
  row: number;
  value: string;
}
export interface ColumnTypeErrors {
  expected: ColumnType;
  count: number;
  examples: TypeErrorExample[];
}
/** Type errors per column; only columns that had any appear. JSON-serializable. */
export type TypeErrorSummary = Record<string, ColumnTypeErrors>;

export interface TypeErrorCollector {
  add(rowNumber: number, errors: readonly CellTypeError[]): void;
  finish(): TypeErrorSummary;
}

/** Counts type errors per column and keeps the first `maxExamples` of each with their row numbers. */
export function createTypeErrorCollector(maxExamples = 5): TypeErrorCollector {
  const byColumn: TypeErrorSummary = {};
  return {
    add(rowNumber, errors) {
      for (const e of errors) {
        const entry = (byColumn[e.column] ??= { expected: e.expected, count: 0, examples: [] });
        entry.count++;
        if (entry.examples.length < maxExamples) entry.examples.push({ row: rowNumber, value: e.value });
      }
    },
    finish: () => byColumn,
  };
}
