/**
 * `mlcycle schema infer`: reads a data file once with the engine and writes the `data:` section of
 * a pipeline spec (types, ranges, category values, the target) that a user can paste and edit.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { MlcycleError } from '../errors';
import type { ColumnRule } from '../spec/pipeline-spec';
import { inferFormat, type DataFormat } from './dataset-reader';
import { withEngine } from './engine';
import { sourceFile } from './ingest-source';
import { columnFacts, distinctValues, inferSchema, stageSource } from './snapshot';

export interface InferredDataSection {
  source: string;
  format: DataFormat;
  target?: string;
  schema: Record<string, ColumnRule>;
  rowCount: number;
}

export async function inferDataSection(file: string, options: { target?: string; format?: DataFormat } = {}): Promise<InferredDataSection> {
  const abs = path.resolve(file);
  try {
    await fs.access(abs);
  } catch {
    throw new MlcycleError('NOT_FOUND', `${file}: no such file`);
  }
  const format = options.format ?? inferFormat(abs).format;
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-infer-'));
  try {
    return await withEngine({ scratchDir: scratch }, async (engine) => {
      const staged = await stageSource(engine, sourceFile(abs, file, format));
      if (options.target !== undefined && !staged.columns.some((c) => c.name === options.target)) {
        throw new MlcycleError('DATA_INVALID', `${file}: the target column "${options.target}" is not in the data (columns: ${staged.columns.map((c) => c.name).slice(0, 20).join(', ')})`);
      }
      const facts = await columnFacts(engine, staged);
      const schema = await inferSchema(facts, staged.rowCount, { target: options.target, categoryValues: (c) => distinctValues(engine, staged, c, 1000) });
      return { source: `file://${abs}`, format, ...(options.target ? { target: options.target } : {}), schema, rowCount: staged.rowCount };
    });
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** The section as YAML, ready to paste under a spec's top level. */
export function renderDataSection(section: InferredDataSection): string {
  const data: Record<string, unknown> = { source: section.source, format: section.format };
  if (section.target) data.target = section.target;
  data.schema = section.schema;
  const doc = new YAML.Document({ data });
  let text = doc.toString({ lineWidth: 0 });
  if (!section.target) text = text.replace(/^( {2}format: .*)$/m, '$1\n  target: CHANGE-ME # the column to predict');
  return `# inferred by mlcycle schema infer from ${section.rowCount} rows; review ranges and category values\n${text}`;
}
