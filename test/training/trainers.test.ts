import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { auc } from '../../src/training/metrics';
import {
  fingerprintData,
  getTrainer,
  gradientBoosting,
  logisticRegression,
  runTraining,
  type Checkpoint,
  type EpochMetrics,
  type RawParams,
  type TrainerName,
  type TrainingData,
} from '../../src/training/trainers';

/** Noisy, mostly separable data: a linear signal plus an interaction the trees can pick up. */
function synth(n: number, seed: string, d = 6): TrainingData {
  const rng = seedrandom(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: d }, () => rng() * 4 - 2);
    const [a = 0, b = 0, c = 0, e = 0] = row;
    const z = 1.5 * a - 1.2 * b + 0.8 * c * e + 0.5 * (rng() * 2 - 1);
    X.push(row);
    y.push(z > 0 ? 1 : 0);
  }
  return { X, y };
}

const train = synth(1500, 'train');
const test = synth(600, 'test');

const cases: Array<{ trainer: TrainerName; params: RawParams }> = [
  { trainer: 'logistic-regression', params: { epochs: 20, learningRate: 0.2, batchSize: 64, l2: 0.001 } },
  { trainer: 'gradient-boosting', params: { epochs: 20, learningRate: 0.3, maxDepth: 3, minNumSamples: 5, subsample: 0.8 } },
];

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<MlcycleError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(MlcycleError);
    return err as MlcycleError;
  }
  throw new Error('expected an error');
}

describe.each(cases)('$trainer', ({ trainer, params }) => {
  it('learns the synthetic data (holdout AUC > 0.8) and reports every epoch', async () => {
    const epochs: Array<[number, number, EpochMetrics]> = [];
    const checkpoints: number[] = [];
    const result = await runTraining({
      trainer,
      data: train,
      validation: test,
      params,
      seed: 7,
      checkpointEvery: 5,
      onEpoch: (e, total, m) => void epochs.push([e, total, m]),
      onCheckpoint: (cp) => void checkpoints.push(cp.epoch),
    });
    const proba = getTrainer(trainer).predictProba(result.state, test.X);
    expect(proba.every((p) => p > 0 && p < 1)).toBe(true);
    expect(auc(test.y, proba)).toBeGreaterThan(0.8);

    expect(epochs.map(([e, total]) => [e, total])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, 20]));
    expect(checkpoints).toEqual([5, 10, 15, 20]);
    const first = epochs[0]?.[2] as EpochMetrics;
    const last = epochs[19]?.[2] as EpochMetrics;
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.valAuc).toBeGreaterThan(0.8);
    expect(last.valLoss).toBeGreaterThan(0);
    expect(result.history).toHaveLength(20);
    expect(result.history[19]).toEqual(last);
    expect(result.resumedFromEpoch).toBe(0);
  });

  it('is deterministic for a seed', async () => {
    const a = await runTraining({ trainer, data: train, params, seed: 11, checkpointEvery: 100 });
    const b = await runTraining({ trainer, data: train, params, seed: 11, checkpointEvery: 100 });
    expect(JSON.stringify(b.state)).toBe(JSON.stringify(a.state));
    // and the seed matters (both use the generator: LR shuffles mini-batches, GB subsamples rows)
    const c = await runTraining({ trainer, data: train, params, seed: 12, checkpointEvery: 100 });
    expect(JSON.stringify(c.state.model)).not.toBe(JSON.stringify(a.state.model));
  });

  it('resumed from a mid-run checkpoint ends bit-identical to an uninterrupted run', async () => {
    const full = await runTraining({ trainer, data: train, validation: test, params, seed: 3, checkpointEvery: 5 });

    // Interrupted run: checkpoints go through JSON (as they do through S3); cancelled during epoch 13.
    const stored: string[] = [];
    const controller = new AbortController();
    const interrupted = runTraining({
      trainer,
      data: train,
      validation: test,
      params,
      seed: 3,
      checkpointEvery: 5,
      signal: controller.signal,
      onEpoch: (e) => {
        if (e === 13) controller.abort(new Error('worker lost'));
      },
      onCheckpoint: (cp) => void stored.push(JSON.stringify(cp)),
    });
    await expect(interrupted).rejects.toThrow('worker lost');
    expect(stored).toHaveLength(2);

    // A new process: fresh copies of the data (so no caches carry over) and the last checkpoint.
    const freshTrain = structuredClone(train);
    const resumeFrom = JSON.parse(stored[1] as string) as Checkpoint;
    expect(resumeFrom.epoch).toBe(10);
    const epochsSeen: number[] = [];
    const resumed = await runTraining({
      trainer,
      data: freshTrain,
      validation: structuredClone(test),
      params,
      seed: 3,
      checkpointEvery: 5,
      resumeFrom,
      onEpoch: (e) => void epochsSeen.push(e),
    });
    expect(resumed.resumedFromEpoch).toBe(10);
    expect(epochsSeen).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(JSON.stringify(resumed.state)).toBe(JSON.stringify(full.state));
    const t = getTrainer(trainer);
    expect(t.predictProba(resumed.state, structuredClone(test.X))).toEqual(t.predictProba(full.state, test.X));
  });

  it('refuses to resume with other params, seed or data', async () => {
    let cp: Checkpoint | undefined;
    await runTraining({ trainer, data: train, params, seed: 3, checkpointEvery: 5, onCheckpoint: (c) => void (cp ??= c) });
    const base = { trainer, data: train, params, seed: 3, checkpointEvery: 5, resumeFrom: cp as Checkpoint };
    expect((await errorOf(runTraining({ ...base, params: { ...params, epochs: 30 } }))).message).toMatch(/cannot resume .*params/);
    expect((await errorOf(runTraining({ ...base, seed: 4 }))).message).toMatch(/seed 3, this run uses 4/);
    expect((await errorOf(runTraining({ ...base, data: synth(1500, 'other') }))).code).toBe('TRAINING_FAILED');
  });
});

describe('params validation', () => {
  it('names the bad param', async () => {
    const e1 = await errorOf(() => logisticRegression.init(train, { learningRate: -1 }, 1));
    expect(e1.code).toBe('SPEC_INVALID');
    expect(e1.message).toContain('train.params.learningRate: must be > 0');

    const e2 = await errorOf(() => gradientBoosting.init(train, { maxDepth: 2.5 }, 1));
    expect(e2.message).toContain('train.params.maxDepth: must be an integer');

    const e3 = await errorOf(() => gradientBoosting.totalEpochs({ subsample: 0 }));
    expect(e3.message).toContain('train.params.subsample: must be > 0');

    const e4 = await errorOf(runTraining({ trainer: 'logistic-regression', data: train, params: { epochs: '10' }, seed: 1, checkpointEvery: 5 }));
    expect(e4.message).toMatch(/train\.params\.epochs: .*expected number/);

    const e5 = await errorOf(() => logisticRegression.parseParams({ lerningRate: 0.1 }));
    expect(e5.message).toMatch(/train\.params: .*lerningRate/);
  });

  it('fills in defaults', () => {
    expect(logisticRegression.parseParams({})).toEqual({ learningRate: 0.1, epochs: 100, l2: 0.0001 });
    expect(gradientBoosting.totalEpochs({ epochs: 7 })).toBe(7);
  });

  it('rejects unknown trainers and bad data', async () => {
    expect((await errorOf(() => getTrainer('svm'))).message).toContain('unknown trainer "svm"');
    const oneClass = { X: [[1], [2]], y: [1, 1] };
    expect((await errorOf(() => gradientBoosting.init(oneClass, {}, 1))).code).toBe('DATA_INVALID');
    const ragged = { X: [[1, 2], [3]], y: [0, 1] };
    expect((await errorOf(() => logisticRegression.init(ragged, {}, 1))).message).toContain('row 2 has 1 features, expected 2');
    const nan = { X: [[1], [Number.NaN]], y: [0, 1] };
    expect((await errorOf(() => logisticRegression.init(nan, {}, 1))).code).toBe('DATA_INVALID');
  });
});

describe('fingerprintData', () => {
  it('changes with any value and is stable otherwise', () => {
    const a = fingerprintData(train);
    expect(fingerprintData(structuredClone(train))).toBe(a);
    const changed = structuredClone(train);
    (changed.X[100] as number[])[2] = ((changed.X[100] as number[])[2] as number) + 1e-9;
    expect(fingerprintData(changed)).not.toBe(a);
  });
});

describe('gradient boosting trees', () => {
  it('serialize as plain JSON and predict the same after a round-trip', async () => {
    const { state } = await runTraining({ trainer: 'gradient-boosting', data: train, params: { epochs: 5 }, seed: 1, checkpointEvery: 5 });
    const copy = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(gradientBoosting.predictProba(copy, test.X)).toEqual(gradientBoosting.predictProba(state, test.X));
    if (state.trainer !== 'gradient-boosting') throw new Error('unreachable');
    const tree = state.model.trees[0];
    expect(tree?.feature.length).toBeGreaterThan(1);
    expect(tree?.feature[0]).toBeGreaterThanOrEqual(0);
  });

  it('trains 20k rows x 15 features quickly', async () => {
    const big = synth(20_000, 'big', 15);
    const t0 = performance.now();
    await runTraining({ trainer: 'gradient-boosting', data: big, params: { epochs: 30 }, seed: 1, checkpointEvery: 10 });
    await runTraining({ trainer: 'logistic-regression', data: big, params: { epochs: 30 }, seed: 1, checkpointEvery: 10 });
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
