import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import type { ColumnRule } from '../../src/spec/pipeline-spec';
import { encode, encodeFeatures, fitEncoder, type Row } from '../../src/training/features';
import { auc } from '../../src/training/metrics';
import { createModelArtifact, parseModelArtifact, predict } from '../../src/training/model-artifact';
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

describe('fitEncoder / encode', () => {
  const rows: Row[] = [
    { customer_id: 'a', tenure: 1, monthly: 10, member: true, plan: 'basic', churned: 'yes' },
    { customer_id: 'b', tenure: 3, monthly: null, member: false, plan: 'pro', churned: 'no' },
    { customer_id: 'c', tenure: '5', monthly: 30, member: 'true', plan: 'team', churned: 'no' },
  ];

  it('standardizes numbers, imputes the mean, one-hots categories, ignores strings', () => {
    const enc = fitEncoder({ schema, target: 'churned', rows });
    expect(enc.featureNames).toEqual(['tenure', 'monthly', 'member', 'plan=basic', 'plan=pro', 'plan=team']);
    expect(enc.ignored).toEqual(['customer_id']);
    expect(enc.target).toEqual({ column: 'churned', kind: 'category', positive: 'yes', negative: 'no' });

    const { X, y } = encode(enc, rows);
    expect(y).toEqual([1, 0, 0]);
    const sd = Math.sqrt(8 / 3); // population std of 1, 3, 5
    expect(X[0]?.[0]).toBeCloseTo(-2 / sd, 12);
    expect(X[2]?.[0]).toBeCloseTo(2 / sd, 12); // '5' from CSV counts as a number
    expect(X[1]?.[1]).toBe(0); // missing monthly → mean → 0
    expect(X.map((r) => r[2])).toEqual([1, 0, 1]);
    expect(X.map((r) => r.slice(3))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('is JSON and encodes serving rows (no target, unknown category) the same after a round-trip', () => {
    const enc = JSON.parse(JSON.stringify(fitEncoder({ schema, target: 'churned', rows })));
    const [row] = encodeFeatures(enc, [{ tenure: 3, member: false, plan: 'enterprise' }]);
    expect(row).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('accepts a positive class and boolean targets', () => {
    const enc = fitEncoder({ schema, target: 'churned', rows, positiveClass: 'no' });
    expect(encode(enc, rows).y).toEqual([0, 1, 1]);
    const boolEnc = fitEncoder({ schema, target: 'member', rows });
    expect(encode(boolEnc, rows).y).toEqual([1, 0, 1]);
  });

  it('reports a bad target value with its row number', () => {
    const enc = fitEncoder({ schema, target: 'churned', rows });
    try {
      encode(enc, [...rows, { tenure: 1, plan: 'pro', churned: 'maybe' }]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MlcycleError);
      expect((err as MlcycleError).code).toBe('DATA_INVALID');
      expect((err as Error).message).toContain('row 4: target "churned" has the value "maybe"; expected "no" or "yes"');
    }
  });

  it('refuses a target with more than two classes', () => {
    expect(() => fitEncoder({ schema, target: 'plan', rows })).toThrow(/exactly 2/);
  });
});

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
