import { writeChurnDataset } from './dataset-generator';

export interface DemoDatasetOptions {
  rows: number;
  seed: number;
  /** See `ChurnOptions.drift`. Default 0. */
  drift?: number;
  missingFraction?: number;
}

/**
 * Writes the demo's churn table to `file` (format from the extension: .csv, .jsonl or .parquet),
 * creating its folder. Seeded: the same options write the same bytes. Returns the rows written.
 */
export async function writeDemoDataset(file: string, options: DemoDatasetOptions): Promise<number> {
  return writeChurnDataset(file, options);
}
