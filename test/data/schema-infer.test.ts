import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertSource, sourceFile } from '../../src/data/ingest-source';
import { inferDataSection, renderDataSection } from '../../src/data/schema-infer';
import { summarizeFailures, validateDataset } from '../../src/data/validate';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-infer-test-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('mlcycle schema infer', () => {
  it('prints a data: section that validates the same file cleanly (numbers, integers, booleans, categories, dates as text, missing values)', async () => {
    const lines = ['amount,visits,active,plan,signup,churned'];
    for (let i = 0; i < 120; i++) {
      const amount = i % 17 === 0 ? '' : ((i * 37) % 1000) / 7;
      const visits = i % 23 === 0 ? 'NA' : String((i * 13) % 50);
      const active = i % 19 === 0 ? '' : i % 3 === 0 ? 'yes' : 'no';
      const plan = i % 29 === 0 ? '' : ['basic', 'pro', 'enterprise'][i % 3];
      const signup = `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
      lines.push(`${amount},${visits},${active},${plan},${signup},${i % 4 === 0 ? 'true' : 'false'}`);
    }
    const file = path.join(dir, 'mixed.csv');
    await fs.writeFile(file, lines.join('\n') + '\n');

    const section = await inferDataSection(file, { target: 'churned' });
    const text = renderDataSection(section);
    const pasted = YAML.parse(text) as { data: Record<string, unknown> };
    expect(pasted.data.schema).toEqual({
      amount: { type: 'number', required: false, min: expect.any(Number), max: expect.any(Number) },
      visits: { type: 'number', required: false, integer: true, min: 0, max: 49 },
      active: { type: 'boolean', required: false },
      plan: { type: 'category', values: ['basic', 'enterprise', 'pro'], required: false },
      signup: { type: 'string', required: true },
      churned: { type: 'boolean', required: true },
    });

    const spec = parsePipelineSpec({ apiVersion: 'mlcycle/v1', name: 'pasted', ...pasted, train: { trainer: 'logistic-regression' } });
    const converted = await convertSource({
      file: sourceFile(file, `file://${file}`, 'csv'),
      schema: spec.data.schema,
      target: spec.data.target,
      scratchDir: dir,
      snapshotPath: path.join(dir, 'snap.parquet'),
    });
    const report = validateDataset(converted.profile, converted.typeErrors, spec);
    expect(summarizeFailures(report)).toBe('');
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('names a target that is not in the file', async () => {
    const file = path.join(dir, 'small.csv');
    await fs.writeFile(file, 'a,b\n1,2\n');
    await expect(inferDataSection(file, { target: 'nope' })).rejects.toThrow(/small\.csv: the target column "nope" is not in the data \(columns: a, b\)/);
  });
});
