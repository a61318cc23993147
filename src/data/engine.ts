/**
 * The columnar engine every data step shares: one DuckDB instance per activity attempt, with its
 * memory, threads and spill folder bounded by settings (not by the number of rows), and an abort
 * signal that interrupts the running query, so a cancelled or timed-out attempt stops for real and
 * its memory is freed before a retry starts on the same worker.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';
import type * as DuckDB from '@duckdb/node-api';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';

/** The engine's native bindings, loaded on first use: CLI commands that never read a table skip them. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load is the point; import() would make every caller async
export const duckdb = (): typeof DuckDB => require('@duckdb/node-api') as typeof DuckDB;

const MIB = 1024 * 1024;

/** Data-plane settings, from the worker's environment. */
export const DataSettingsSchema = z.object({
  /** DuckDB `memory_limit` (e.g. 512MB, 2GB): beyond it, operators spill to `tempDir`. */
  MLCYCLE_DATA_MEMORY_LIMIT: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'expected a size like 512MB or 2GB').default('512MB'),
  /** DuckDB worker threads; default: the machine's cores, at most 4. */
  MLCYCLE_DATA_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  /** Most columns a data file may have. */
  MLCYCLE_DATA_MAX_COLUMNS: z.coerce.number().int().min(1).default(10_000),
  /** Most bytes in one CSV line or one JSON record. */
  MLCYCLE_DATA_MAX_LINE_BYTES: z.coerce.number().int().min(1024).default(16 * MIB),
  /** Most distinct values whose frequencies a profile keeps per column (the rest: `otherCount`). */
  MLCYCLE_DATA_MAX_PROFILE_CATEGORIES: z.coerce.number().int().min(1).default(1000),
});

export interface DataSettings {
  memoryLimit: string;
  threads: number;
  maxColumns: number;
  maxLineBytes: number;
  maxProfileCategories: number;
}

export function dataSettings(env: Record<string, string | undefined> = process.env): DataSettings {
  const pick = Object.fromEntries(Object.keys(DataSettingsSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = DataSettingsSchema.safeParse(pick);
  if (!parsed.success) throw new MlcycleError('CONFIG_INVALID', `data-plane settings are invalid:\n${formatIssues(parsed.error)}`);
  const s = parsed.data;
  return {
    memoryLimit: s.MLCYCLE_DATA_MEMORY_LIMIT.replace(/\s+/g, ''),
    threads: s.MLCYCLE_DATA_THREADS ?? Math.max(1, Math.min(4, os.availableParallelism())),
    maxColumns: s.MLCYCLE_DATA_MAX_COLUMNS,
    maxLineBytes: s.MLCYCLE_DATA_MAX_LINE_BYTES,
    maxProfileCategories: s.MLCYCLE_DATA_MAX_PROFILE_CATEGORIES,
  };
}

/** Thrown in place of DuckDB's "interrupted" error once the engine's signal has fired. */
export class EngineAborted extends Error {
  constructor(readonly reason: unknown) {
    super(`data engine stopped: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`);
    this.name = 'EngineAborted';
  }
}

export interface Engine {
  readonly connection: DuckDBConnection;
  readonly settings: DataSettings;
  /** Runs a statement; an abort interrupts it and it rejects with EngineAborted. */
  run(sql: string): Promise<void>;
  /** Runs a query and reads all of its rows (small results: profiles, counts). */
  all(sql: string): Promise<DuckDBResultReader>;
  /** Throws EngineAborted when the signal has fired (for loops between queries). */
  check(): void;
  close(): Promise<void>;
}

export interface OpenEngineOptions {
  /** Folder for the engine's database file and spills; removed on close. */
  scratchDir: string;
  settings?: DataSettings;
  signal?: AbortSignal;
}

/** Quotes an identifier for SQL ("a""b"). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for SQL ('it''s'). */
export function lit(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Opens a DuckDB instance backed by a database file in `scratchDir` (so tables larger than the
 * memory limit live on disk) with the memory limit, threads and spill folder of the settings.
 */
export async function openEngine(options: OpenEngineOptions): Promise<Engine> {
  const settings = options.settings ?? dataSettings();
  const dir = await fs.mkdtemp(path.join(options.scratchDir, 'duckdb-'));
  const instance = await duckdb().DuckDBInstance.create(path.join(dir, 'engine.duckdb'), {
    memory_limit: settings.memoryLimit,
    threads: String(settings.threads),
    temp_directory: path.join(dir, 'spill'),
    // Nothing is downloaded at run time: the parquet and json readers are built in.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    enable_external_access: 'true',
  });
  const connection = await instance.connect();
  const signal = options.signal;
  const onAbort = () => {
    try {
      connection.interrupt();
    } catch {
      // Already closed.
    }
  };
  signal?.addEventListener('abort', onAbort);
  const check = () => {
    if (signal?.aborted) throw new EngineAborted(signal.reason);
  };
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    check();
    try {
      return await work();
    } catch (err) {
      if (signal?.aborted) throw new EngineAborted(signal.reason);
      throw err;
    }
  };
  let closed = false;
  return {
    connection,
    settings,
    run: (sql) => guard(async () => {
      await connection.run(sql);
    }),
    all: (sql) => guard(() => connection.runAndReadAll(sql)),
    check,
    async close() {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', onAbort);
      connection.closeSync();
      instance.closeSync();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Opens an engine, runs `work` and always closes it (files and memory freed), even on abort. */
export async function withEngine<T>(options: OpenEngineOptions, work: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(options);
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}
