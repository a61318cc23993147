import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';
import { resolveTask } from '../../src/training/task-type';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const PYTHON_EXAMPLES = ['sklearn-churn', 'lightgbm-fraud', 'sklearn-regression', 'pytorch-mlp'];

describe('the Python examples', () => {
  it.each(PYTHON_EXAMPLES)('%s has a valid spec, a trainer, a data generator and a README', async (name) => {
    const dir = path.join(EXAMPLES, name);
    const { spec } = await loadPipelineSpec(path.join(dir, 'pipeline.yaml'));
    expect(spec.train.trainer).toBe('command');
    expect(spec.train.command).toEqual(['python', 'train.py']);
    expect(spec.approval?.approvers.length).toBeGreaterThan(0);
    expect(spec.deploy?.alias).toBe('production');
    for (const file of ['train.py', 'generate_data.py', 'README.md']) expect(fs.existsSync(path.join(dir, file)), `${name}/${file}`).toBe(true);
    expect(resolveTask(spec.data, spec.train)).toBe(name === 'sklearn-regression' ? 'regression' : 'binary');
  });
});
