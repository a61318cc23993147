/**
 * Ingest's data work on a local copy of the source: read once by the engine, checked, typed by the
 * declared (or inferred) schema, written as the canonical Parquet snapshot and profiled by SQL.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import type { DataSchema, TypeErrorSummary } from './coerce';
import type { DataFormat } from './dataset-reader';
import { withEngine, type DataSettings } from './engine';
import type { DatasetProfile } from './profile';
import { columnFacts, counted, distinctValues, engineMemoryError, inferSchema, countStaged, openSource, typeErrors, writeSnapshot, writeSnapshotStrict, type ColumnFacts, type SourceFile, type StrictSnapshot } from './snapshot';
import { profileSnapshot } from './sql-profile';

export interface ConvertSourceOptions {
  file: SourceFile;
  /** The declared schema, or 'infer' to take what the data says. */
  schema: DataSchema | 'infer';
  /** `data.target`: checked to be present and not entirely missing. */
  target?: string;
  scratchDir: string;
  snapshotPath: string;
  settings?: DataSettings;
  signal?: AbortSignal;
  onPhase?: (phase: string) => void;
}

export interface ConvertedSource {
  rowCount: number;
  /** The schema the snapshot was typed with (the declared one, or the inferred one). */
  schema: Record<string, ColumnRule>;
  inferred: boolean;
  /** Every column of the snapshot with the type it was written as. */
  columns: Array<{ name: string; type: ColumnRule['type'] }>;
  profile: DatasetProfile;
  typeErrors: TypeErrorSummary;
}

export async function convertSource(options: ConvertSourceOptions): Promise<ConvertedSource> {
  const { file } = options;
  // The read itself maps its errors (stageSource); a staged table of deeply nested records can
  // still exhaust the engine's memory in the queries after it (fuzzing found a 6000-deep list).
  return convertStaged(options).catch(async (err: unknown) => {
    // The one-pass write may have finished before a check refused the data: nothing half-made stays.
    await fs.rm(options.snapshotPath, { force: true }).catch(() => undefined);
    throw engineMemoryError(file, err) ?? err;
  });
}

async function convertStaged(options: ConvertSourceOptions): Promise<ConvertedSource> {
  const { file } = options;
  return withEngine({ scratchDir: options.scratchDir, settings: options.settings, signal: options.signal }, async (engine) => {
    options.onPhase?.('read');
    const opened = await openSource(engine, file);
    const target = options.target;
    if (target !== undefined && !opened.columns.some((c) => c.name === target)) {
      const names = opened.columns.map((c) => c.name);
      throw new MlcycleError(
        'DATA_INVALID',
        `${file.name}: the target column "${target}" is not in the data (columns: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … ${names.length} in all` : ''})`,
      );
    }
    const inferring = options.schema === 'infer';
    let schema: Record<string, ColumnRule>;
    let rowCount: number;
    let errors: TypeErrorSummary = {};
    // Declared schema: one read of the source when every value fits (the usual case); the
    // counted path below reports what does not.
    let strict: StrictSnapshot | undefined;
    if (!inferring) {
      options.onPhase?.('snapshot');
      strict = await writeSnapshotStrict(engine, opened, options.schema as DataSchema, options.snapshotPath);
    }
    if (strict) {
      const staged = counted(opened, strict.rowCount);
      rowCount = staged.rowCount;
      schema = { ...(options.schema as DataSchema) };
      if (target !== undefined && strict.present.get(target) === 0) throw targetAllMissing(file, target, rowCount);
    } else {
      const staged = await countStaged(engine, opened);
      rowCount = staged.rowCount;
      options.onPhase?.('types');
      const facts = await columnFacts(engine, staged, inferring ? undefined : (options.schema as DataSchema));
      const byName = new Map<string, ColumnFacts>(facts.map((f) => [f.name, f]));
      if (target !== undefined && byName.get(target)?.present === 0) throw targetAllMissing(file, target, rowCount);
      // Columns outside a declared schema are kept in the snapshot as text (they are not features).
      schema = inferring
        ? await inferSchema(facts, staged.rowCount, { target, categoryValues: (column) => distinctValues(engine, staged, column, 1000) })
        : { ...(options.schema as DataSchema) };
      errors = inferring ? {} : await typeErrors(engine, staged, schema, facts);
      options.onPhase?.('snapshot');
      await writeSnapshot(engine, staged, schema, {}, options.snapshotPath);
    }
    options.onPhase?.('profile');
    const extraColumns = opened.columns.map((c) => c.name).filter((n) => !Object.hasOwn(schema, n));
    const profile = await profileSnapshot(engine, options.snapshotPath, schema, { maxCategories: engine.settings.maxProfileCategories, extraColumns });
    const columns = opened.columns.map((c) => ({ name: c.name, type: Object.hasOwn(schema, c.name) ? schema[c.name]!.type : 'string' }));
    return { rowCount, schema, inferred: inferring, columns, profile, typeErrors: errors };
  });
}

/** The local file as the engine should read it: format from the spec or the name, gzip by the name. */
export function sourceFile(localPath: string, name: string, format: DataFormat): SourceFile {
  return { path: localPath, name, format, gzip: localPath.toLowerCase().endsWith('.gz') || path.basename(name).toLowerCase().endsWith('.gz') };
}

function targetAllMissing(file: SourceFile, target: string, rows: number): MlcycleError {
  return new MlcycleError('DATA_INVALID', `${file.name}: the target column "${target}" has no values in any of the ${rows} rows`);
}
