import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mean } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coerceRow } from '../../src/data/coerce';
import { splitIndices } from '../../src/data/split';
import { CHURN_COLUMNS, CHURN_SCHEMA, generateChurnDataset, generateChurnRows, PLANS, REGIONS, type ChurnRow } from '../../src/demo/dataset-generator';
import { writeDemoDataset } from '../../src/demo/demo-data';

/** Standardized features with one-hot plan/region, as a logistic regression would see them. */
function features(r: ChurnRow): number[] {
  return [
    r.tenure_months ?? 0,
    r.monthly_charges ?? 0,
    r.support_tickets ?? 0,
    r.autopay ? 1 : 0,
    ...PLANS.map((p) => (r.plan === p ? 1 : 0)),
    ...REGIONS.map((g) => (r.region === g ? 1 : 0)),
  ];
}

/** A plain batch-gradient-descent logistic regression: enough to show the label is learnable. */
function fitLogistic(X: number[][], y: number[], epochs = 300, lr = 0.5): (x: number[]) => number {
  const d = X[0]!.length;
  const mu = Array.from({ length: d }, (_, j) => mean(X.map((x) => x[j]!)));
  const sd = mu.map((m, j) => Math.sqrt(mean(X.map((x) => (x[j]! - m) ** 2))) || 1);
  const Z = X.map((x) => x.map((v, j) => (v - mu[j]!) / sd[j]!));
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let e = 0; e < epochs; e++) {
    const g = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < Z.length; i++) {
      const z = Z[i]!;
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * z[j]!;
      const err = 1 / (1 + Math.exp(-s)) - y[i]!;
      gb += err;
      for (let j = 0; j < d; j++) g[j]! += err * z[j]!;
    }
    for (let j = 0; j < d; j++) w[j]! -= (lr * g[j]!) / Z.length;
    b -= (lr * gb) / Z.length;
  }
  return (x) => x.reduce((s, v, j) => s + ((v - mu[j]!) / sd[j]!) * w[j]!, b);
}

/** AUC as the Mann-Whitney statistic (ties in score are rare with continuous features). */
function auc(scores: number[], labels: number[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  let pos = 0;
  order.forEach((i, r) => {
    if (labels[i]) {
      rankSum += r + 1;
      pos++;
    }
  });
  const neg = labels.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function holdoutAuc(rows: ChurnRow[], seed: number): number {
  const split = splitIndices(rows.length, { test: 0.3, seed });
  const train = [...split.train].map((i) => rows[i]!);
  const test = [...split.test].map((i) => rows[i]!);
  const model = fitLogistic(train.map(features), train.map((r) => (r.churned ? 1 : 0)));
  return auc(test.map((r) => model(features(r))), test.map((r) => (r.churned ? 1 : 0)));
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-gen-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('generateChurnDataset', () => {
  it('is deterministic for a seed, different for another', () => {
    const a = generateChurnDataset({ rows: 300, seed: 7 });
    expect(generateChurnDataset({ rows: 300, seed: 7 })).toEqual(a);
    expect(generateChurnDataset({ rows: 300, seed: 8 })).not.toEqual(a);
    // the lazy generator yields the same rows
    expect([...generateChurnRows({ rows: 300, seed: 7 })]).toEqual(a);
  });

  it('writes the same bytes on every run', async () => {
    const f1 = path.join(dir, 'a', 'churn.csv');
    const f2 = path.join(dir, 'b', 'churn.csv');
    expect(await writeDemoDataset(f1, { rows: 2000, seed: 7 })).toBe(2000);
    await writeDemoDataset(f2, { rows: 2000, seed: 7 });
    const hash = async (f: string) => crypto.createHash('sha256').update(await fs.readFile(f)).digest('hex');
    expect(await hash(f2)).toBe(await hash(f1));
    const text = await fs.readFile(f1, 'utf8');
    expect(text.split('\n')[0]).toBe(CHURN_COLUMNS.join(','));
    expect(text.trimEnd().split('\n')).toHaveLength(2001);
  });

  it('matches the example schema: every value fits its declared type and rules', () => {
    const rows = generateChurnDataset({ rows: 3000, seed: 3 });
    for (const [i, r] of rows.entries()) {
      expect(Object.keys(r)).toEqual([...CHURN_COLUMNS]);
      expect(coerceRow(r, CHURN_SCHEMA).typeErrors).toEqual([]);
      expect(r.customer_id).toBe(`C${String(i + 1).padStart(7, '0')}`);
      expect(r.tenure_months).toBeGreaterThanOrEqual(0);
      expect(r.monthly_charges).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(r.support_tickets)).toBe(true);
      expect(r.support_tickets).toBeGreaterThanOrEqual(0);
      expect(PLANS).toContain(r.plan);
      expect(REGIONS).toContain(r.region);
      expect(typeof r.autopay).toBe('boolean');
    }
    expect(new Set(rows.map((r) => r.plan)).size).toBe(3);
    expect(new Set(rows.map((r) => r.region)).size).toBe(4);
  });

  it('class balance 25-35% churners across seeds', () => {
    for (const seed of [1, 2, 3, 7, 42]) {
      const rows = generateChurnDataset({ rows: 5000, seed });
      const rate = rows.filter((r) => r.churned).length / rows.length;
      expect(rate, `seed ${seed}`).toBeGreaterThan(0.25);
      expect(rate, `seed ${seed}`).toBeLessThan(0.35);
    }
  });

  it('the label is learnable: logistic regression holdout AUC 0.8-0.9', () => {
    const value = holdoutAuc(generateChurnDataset({ rows: 6000, seed: 7 }), 1);
    expect(value).toBeGreaterThan(0.8);
    expect(value).toBeLessThan(0.9);
  });

  it('missingFraction blanks features, never the id or the label', () => {
    const rows = generateChurnDataset({ rows: 4000, seed: 5, missingFraction: 0.1 });
    for (const col of ['tenure_months', 'monthly_charges', 'support_tickets', 'plan', 'region', 'autopay'] as const) {
      const frac = rows.filter((r) => r[col] === null).length / rows.length;
      expect(frac, col).toBeGreaterThan(0.08);
      expect(frac, col).toBeLessThan(0.12);
    }
    expect(rows.every((r) => r.customer_id !== null && typeof r.churned === 'boolean')).toBe(true);
    expect(generateChurnDataset({ rows: 500, seed: 5 }).some((r) => Object.values(r).includes(null))).toBe(false);
  });

  it('drift shifts the feature distributions and the churn relationship', () => {
    const base = generateChurnDataset({ rows: 6000, seed: 11 });
    const drifted = generateChurnDataset({ rows: 6000, seed: 11, drift: 1 });
    const avg = (rows: ChurnRow[], col: 'tenure_months' | 'monthly_charges' | 'support_tickets') => mean(rows.map((r) => r[col]!));
    expect(avg(drifted, 'tenure_months')).toBeLessThan(avg(base, 'tenure_months') - 5);
    // prices rise within each plan (the overall mean also moves with the plan mix)
    for (const plan of PLANS) {
      const inPlan = (rows: ChurnRow[]) => rows.filter((r) => r.plan === plan);
      expect(avg(inPlan(drifted), 'monthly_charges'), plan).toBeGreaterThan(avg(inPlan(base), 'monthly_charges') + 8);
    }
    expect(avg(drifted, 'support_tickets')).toBeGreaterThan(avg(base, 'support_tickets') + 0.8);
    const share = (rows: ChurnRow[], pred: (r: ChurnRow) => boolean) => rows.filter(pred).length / rows.length;
    expect(share(drifted, (r) => r.plan === 'basic')).toBeGreaterThan(share(base, (r) => r.plan === 'basic') + 0.1);
    expect(share(drifted, (r) => r.region === 'west')).toBeGreaterThan(share(base, (r) => r.region === 'west') + 0.1);

    // The relationship changes: a model fitted on the reference population ranks drifted rows worse
    // than one fitted on drifted rows; and in drifted data the west region churns much more.
    const refModel = fitLogistic(base.map(features), base.map((r) => (r.churned ? 1 : 0)));
    const split = splitIndices(drifted.length, { test: 0.3, seed: 4 });
    const dTrain = [...split.train].map((i) => drifted[i]!);
    const dTest = [...split.test].map((i) => drifted[i]!);
    const driftModel = fitLogistic(dTrain.map(features), dTrain.map((r) => (r.churned ? 1 : 0)));
    const y = dTest.map((r) => (r.churned ? 1 : 0));
    const stale = auc(dTest.map((r) => refModel(features(r))), y);
    const fresh = auc(dTest.map((r) => driftModel(features(r))), y);
    expect(fresh - stale).toBeGreaterThan(0.02);
    const churnIn = (rows: ChurnRow[], region: string) => share(rows.filter((r) => r.region === region), (r) => r.churned);
    expect(churnIn(drifted, 'west') - churnIn(drifted, 'north')).toBeGreaterThan(churnIn(base, 'west') - churnIn(base, 'north') + 0.1);

    // A small drift moves things less than a strong one.
    const mild = generateChurnDataset({ rows: 6000, seed: 11, drift: 0.3 });
    expect(avg(mild, 'tenure_months')).toBeLessThan(avg(base, 'tenure_months'));
    expect(avg(mild, 'tenure_months')).toBeGreaterThan(avg(drifted, 'tenure_months'));
  });

  it('rejects a bad row count', () => {
    expect(() => generateChurnDataset({ rows: -1, seed: 1 })).toThrow(RangeError);
  });
});
