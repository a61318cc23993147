import type { DataSchema, TypeErrorSummary } from './coerce';
import { createRowCoercer, createTypeErrorCollector } from './coerce';
import type { DataFormat } from './dataset-reader';
import { readBatches } from './dataset-reader';
import type { DatasetProfile, ProfilerOptions } from './profile';
import { createProfiler } from './profile';

export interface ScanOptions {
  format?: DataFormat;
  profiler?: ProfilerOptions;
  /** Type-error examples kept per column. Default 5. */
  maxTypeErrorExamples?: number;
  /** Called every `progressEvery` rows (default 100,000) and once at the end with the rows read. */
  onProgress?: (rows: number) => void;
  progressEvery?: number;
  /** See ReadOptions.parquetDecodeTimeoutMs. */
  parquetDecodeTimeoutMs?: number;
}

export interface ScanResult {
  profile: DatasetProfile;
  typeErrors: TypeErrorSummary;
}

/**
 * Reads a local data file once: coerces each record to the schema, profiles it and collects type
 * errors — the inputs of `validateDataset`. Throws DATA_INVALID for malformed files.
 */
export async function scanDataset(localPath: string, schema: DataSchema, options: ScanOptions = {}): Promise<ScanResult> {
  const coerce = createRowCoercer(schema);
  const profiler = createProfiler(schema, options.profiler);
  const typeErrors = createTypeErrorCollector(options.maxTypeErrorExamples ?? 5);
  const every = options.progressEvery ?? 100_000;
  const onProgress = options.onProgress;
  for await (const batch of readBatches(localPath, options.format, { parquetDecodeTimeoutMs: options.parquetDecodeTimeoutMs })) {
    for (const raw of batch) {
      const { row, typeErrors: errors } = coerce(raw);
      const rowNumber = profiler.add(row, raw);
      if (errors.length > 0) typeErrors.add(rowNumber, errors);
      if (onProgress && rowNumber % every === 0) onProgress(rowNumber);
    }
  }
  onProgress?.(profiler.rowCount);
  return { profile: profiler.finish(), typeErrors: typeErrors.finish() };
}
