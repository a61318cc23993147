import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { MlcycleError } from '../../src/errors';
import { loadPipelineSpec, parsePipelineSpec, resolveSource } from '../../src/spec/pipeline-spec';

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'churn', 'pipeline.yaml');

function errorOf(fn: () => unknown): MlcycleError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MlcycleError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('pipeline spec', () => {
  it('loads the example spec with its documented keys and defaults', async () => {
    const { spec, resolvedSource } = await loadPipelineSpec(EXAMPLE);
    expect(spec.name).toBe('churn');
    expect(spec.data.target).toBe('churned');
    expect(spec.data.schema.plan).toEqual({ type: 'category', values: ['basic', 'pro', 'enterprise'], required: true });
    expect(spec.train).toMatchObject({ trainer: 'logistic-regression', resources: { queue: 'cpu' }, checkpointEvery: 5 });
    expect(spec.evaluate.thresholds).toEqual({ auc: 0.75 });
    expect(spec.cache).toBe(true);
    expect(resolvedSource).toBe(`file://${path.join(path.dirname(EXAMPLE), 'data', 'churn.csv')}`);
  });

  it('lists every bad field with its path in one error', async () => {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8'));
    doc.data.schema.tenure_months = { type: 'number', min: 5, max: 1 };
    doc.data.target = 'nope';
    doc.train.resources.queue = 'tpu';
    doc.evaluate.metrics = ['auc', 'gini'];
    doc.surprise = true;
    const err = errorOf(() => parsePipelineSpec(doc));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.exitCode).toBe(2);
    for (const p of ['data.schema.tenure_months.min', 'data.target', 'train.resources.queue', 'evaluate.metrics.1', '(root)']) {
      expect(err.message).toContain(`${p}: `);
    }
  });

  it('requires a command for the command trainer', () => {
    const err = errorOf(() =>
      parsePipelineSpec({ apiVersion: 'mlcycle/v1', name: 'm', data: { source: 's3://b/k.csv', target: 'y', schema: { y: { type: 'boolean' } } }, train: { trainer: 'command' } }),
    );
    expect(err.message).toContain('train.command: ');
  });

  it('resolves file:// sources against the spec folder and leaves s3:// alone', () => {
    expect(resolveSource('file://data/x.csv', '/specs')).toBe('file:///specs/data/x.csv');
    expect(resolveSource('file:///abs/x.csv', '/specs')).toBe('file:///abs/x.csv');
    expect(resolveSource('s3://bucket/x.csv', '/specs')).toBe('s3://bucket/x.csv');
  });

  it('reports unreadable and unparsable files as SPEC_INVALID', async () => {
    await expect(loadPipelineSpec('/no/such/spec.yaml')).rejects.toThrow(/cannot read spec/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spec-'));
    await fs.writeFile(path.join(dir, 's.yaml'), 'a: [unclosed');
    await expect(loadPipelineSpec(path.join(dir, 's.yaml'))).rejects.toThrow(/not valid YAML/);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
