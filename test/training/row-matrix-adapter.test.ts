import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import type { ColumnRule } from '../../src/spec/pipeline-spec';
import type { Row } from '../../src/training/row-matrix-adapter';
import { auc } from '../../src/training/metrics';
import { parseModelArtifact, predict } from '../../src/training/model-artifact';
import { getTrainer } from '../../src/training/trainers';
import { encodeFeatureRows, encodeTargetRows } from '../../src/training/row-matrix-adapter';
import { trainArtifact } from '../helpers/train-artifact';

const schema: Record<string, ColumnRule> = {
  customer_id: { type: 'string', required: true },
  tenure: { type: 'number', required: true },
  monthly: { type: 'number', required: false },
  member: { type: 'boolean', required: true },
  plan: { type: 'category', values: ['basic', 'pro', 'team'], required: true },
  churned: { type: 'category', values: ['no', 'yes'], required: true },
};

describe('model artifact', () => {
  it('carries encoder + state; predict(rows) scores raw rows like training did', async () => {
    const rng = seedrandom('rows');
    const plans = ['basic', 'pro', 'team'];
    const make = (n: number): Row[] =>
      Array.from({ length: n }, (_, i) => {
        const tenure = rng() * 60;
        const plan = plans[Math.floor(rng() * 3)] as string;
        const member = rng() < 0.5;
        const risk = -tenure / 15 + (plan === 'basic' ? 1.5 : 0) + (member ? -0.5 : 0.5) + rng() - 0.5;
        return { customer_id: `c${i}`, tenure, monthly: rng() < 0.1 ? null : 20 + rng() * 50, member, plan, churned: risk > -0.5 ? 'yes' : 'no' };
      });
    const trainRows = make(2000);
    const testRows = make(500);
    const trained = await trainArtifact({ schema, target: 'churned', rows: trainRows, trainer: 'gradient-boosting', params: { epochs: 30 }, seed: 5 });

    const artifact = parseModelArtifact(JSON.parse(JSON.stringify(trained)));
    expect(artifact.format).toBe('mlcycle-model/v2');
    expect(artifact.task).toBe('binary');
    expect(artifact.classes).toEqual(['no', 'yes']);
    expect(artifact.featureNames).toEqual(trained.encoder.featureNames);

    const proba = predict(artifact, testRows.map(({ churned: _drop, ...rest }) => rest));
    const expected = Array.from(getTrainer('gradient-boosting').predict(trained.state, encodeFeatureRows(trained.encoder, testRows)));
    expect(proba).toEqual(expected);
    expect(auc(encodeTargetRows(trained.encoder, testRows).values, proba)).toBeGreaterThan(0.85);
  });

  it('rejects documents that are not models', () => {
    expect(() => parseModelArtifact({ format: 'other' })).toThrow(/not an mlcycle-model\/v2 model/);
  });
});
