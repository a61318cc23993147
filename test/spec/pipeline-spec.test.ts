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

  it('takes train.task, train.classWeight and evaluate.threshold, and checks them against the task', async () => {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8'));
    const parse = (patch: (d: any) => void) => {
      const d = structuredClone(doc);
      patch(d);
      return parsePipelineSpec(d);
    };
    const ok = parse((d) => {
      d.train.task = 'binary';
      d.train.classWeight = 'balanced';
      d.evaluate.threshold = { optimize: 'f1' };
      d.evaluate.metrics = ['pr_auc', 'balanced_accuracy', 'brier'];
    });
    expect(ok.train.task).toBe('binary');
    expect(ok.train.classWeight).toBe('balanced');
    expect(ok.evaluate.threshold).toEqual({ optimize: 'f1' });
    expect(parse((d) => (d.evaluate.threshold = 'optimize: youden')).evaluate.threshold).toEqual({ optimize: 'youden' });
    expect(parse((d) => (d.evaluate.threshold = 0.3)).evaluate.threshold).toBe(0.3);
    expect(parse((d) => (d.train.classWeight = { yes: 3 })).train.classWeight).toEqual({ yes: 3 });
    expect(errorOf(() => parse((d) => (d.evaluate.threshold = { optimize: 'accuracy' }))).message).toContain('evaluate.threshold');
    expect(errorOf(() => parse((d) => (d.evaluate.threshold = 1.5))).message).toContain('evaluate.threshold');
    expect(errorOf(() => parse((d) => (d.train.task = 'ranking'))).message).toContain('train.task');
    // The example's target is a boolean: binary; regression metrics and thresholds are refused by path.
    const wrong = errorOf(() => parse((d) => {
      d.evaluate.metrics = ['auc', 'rmse'];
      d.evaluate.thresholds = { r2: 0.5 };
    })).message;
    expect(wrong).toContain('evaluate.metrics.1: rmse is not a binary metric');
    expect(wrong).toContain('evaluate.thresholds.r2: r2 is not a binary metric');
    const reg = errorOf(() => parse((d) => {
      d.train.task = 'regression';
      d.evaluate.threshold = 0.4;
      d.train.classWeight = 'balanced';
      d.evaluate.thresholds = {};
    })).message;
    expect(reg).toContain('evaluate.threshold: a decision threshold applies to binary classification; this task is regression');
    expect(reg).toContain('train.classWeight: class weights apply to classification');
  });

  it('lists every bad field with its path in one error', async () => {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8'));
    doc.data.schema.tenure_months = { type: 'number', min: 5, max: 1 };
    doc.data.target = 'nope';
    doc.train.resources.queue = 'tpu';
    doc.evaluate.metrics = ['auc', 'rmsle'];
    doc.surprise = true;
    const err = errorOf(() => parsePipelineSpec(doc));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.exitCode).toBe(2);
    for (const p of ['data.schema.tenure_months.min', 'data.target', 'train.resources.queue', 'evaluate.metrics.1', '(root)']) {
      expect(err.message).toContain(`${p}: `);
    }
  });

  it('names the field of every bad value in the keys the data plane, trainers and workers added', async () => {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8'));
    doc.data.extraColumns = 'keep';
    doc.data.split = { test: 0.2, validation: 1.5, seed: 1, groupBy: 7 };
    doc.validation.maxMissingTarget = -1;
    doc.train.heartbeatTimeout = 'soon';
    doc.train.task = 'ranking';
    doc.train.env = ['lower-case name'];
    const err = errorOf(() => parsePipelineSpec(doc));
    expect(err.code).toBe('SPEC_INVALID');
    for (const p of ['data.extraColumns', 'data.split.validation', 'data.split.groupBy', 'validation.maxMissingTarget', 'train.heartbeatTimeout', 'train.task', 'train.env.0']) {
      expect(err.message).toContain(`${p}: `);
    }
  });

  it('takes serve.outOfRange (refuse | clip | allow) and names the field of a bad value or an unknown key', async () => {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8'));
    expect(parsePipelineSpec({ ...doc, serve: { outOfRange: 'clip' } }).serve).toEqual({ outOfRange: 'clip' });
    expect(parsePipelineSpec({ ...doc, serve: {} }).serve).toEqual({ outOfRange: 'refuse' });
    expect(parsePipelineSpec(doc).serve).toBeUndefined();
    const bad = errorOf(() => parsePipelineSpec({ ...doc, serve: { outOfRange: 'sometimes' } }));
    expect(bad.code).toBe('SPEC_INVALID');
    expect(bad.message).toContain('serve.outOfRange: expected refuse, clip or allow, got "sometimes"');
    expect(errorOf(() => parsePipelineSpec({ ...doc, serve: { outofrange: 'clip' } })).message).toMatch(/serve.*outofrange/);
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
