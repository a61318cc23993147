import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import type { TaskType } from '../../src/training/feature-matrix';
import { classWeights } from '../../src/training/class-weights';
import type { RawParams } from '../../src/training/trainer-contract';
import { runTraining, type Checkpoint } from '../../src/training/training-loop';
import { getTrainer, type TrainerName } from '../../src/training/trainers';
import { sliceRows, synthetic } from '../helpers/synthetic-tasks';

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<MlcycleError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(MlcycleError);
    return err as MlcycleError;
  }
  throw new Error('expected an error');
}

const params: Record<TrainerName, RawParams> = {
  'logistic-regression': { tol: 1e-9, epochs: 25 },
  'gradient-boosting': { epochs: 12, subsample: 0.8 },
};

const cases = (['logistic-regression', 'gradient-boosting'] as const).flatMap((trainer) => (['binary', 'multiclass', 'regression'] as const).map((task) => ({ trainer, task })));

describe.each(cases)('runTraining: $trainer, $task', ({ trainer, task }: { trainer: TrainerName; task: TaskType }) => {
  const all = synthetic({ task, rows: 2400, features: 8, seed: 21, missing: 0.03 });
  const train = sliceRows(all, 0, 2000);
  const validation = sliceRows(all, 2000, 2400);

  it('a run killed after a checkpoint and resumed from it ends exactly like the uninterrupted run', async () => {
    const full = await runTraining({ trainer, data: train, validation, params: params[trainer], seed: 3, checkpointEvery: 4 });
    expect(full.state.task).toBe(task);
    expect(full.history.every((h) => h.valLoss !== undefined)).toBe(true);

    // "Kill": abort the run once it has handed out its epoch-4 checkpoint.
    const stop = new AbortController();
    let saved: Checkpoint | undefined;
    const killed = runTraining({
      trainer, data: train, validation, params: params[trainer], seed: 3, checkpointEvery: 4, signal: stop.signal,
      onCheckpoint: (cp) => {
        if (!saved) {
          saved = JSON.parse(JSON.stringify(cp)) as Checkpoint;
          stop.abort(new Error('killed'));
        }
      },
    });
    await expect(killed).rejects.toThrow('killed');
    expect(saved?.epoch).toBe(4);
    const epochs: number[] = [];
    const resumed = await runTraining({
      trainer, data: structuredClone(train), validation: structuredClone(validation), params: params[trainer], seed: 3, checkpointEvery: 4, resumeFrom: saved,
      onEpoch: (e) => void epochs.push(e),
    });
    expect(resumed.resumedFromEpoch).toBe(4);
    expect(epochs[0]).toBe(5);
    expect(JSON.stringify(resumed.state)).toBe(JSON.stringify(full.state));
    const t = getTrainer(trainer);
    expect(Array.from(t.predict(resumed.state, validation.X))).toEqual(Array.from(t.predict(full.state, validation.X)));
  });

  it('refuses to resume with other params, seed or data', async () => {
    let cp: Checkpoint | undefined;
    await runTraining({ trainer, data: train, params: params[trainer], seed: 3, checkpointEvery: 2, onCheckpoint: (c) => void (cp ??= c) });
    const base = { trainer, data: train, params: params[trainer], seed: 3, checkpointEvery: 2, resumeFrom: cp };
    expect((await errorOf(runTraining({ ...base, params: { ...params[trainer], epochs: 99 } }))).message).toMatch(/cannot resume .*params/);
    expect((await errorOf(runTraining({ ...base, seed: 4 }))).message).toMatch(/seed 3, this run uses 4/);
    const changed = structuredClone(train);
    changed.X.columns[0]![5] = 42;
    expect((await errorOf(runTraining({ ...base, data: changed }))).message).toMatch(/training data differ/);
  });
});

describe('runTraining inputs', () => {
  it('still takes row-major 0/1 data (binary)', async () => {
    const X = Array.from({ length: 200 }, (_, i) => [i / 200, (i % 7) / 7]);
    const y = X.map((r) => (r[0]! > 0.5 ? 1 : 0));
    const { state } = await runTraining({ trainer: 'logistic-regression', data: { X, y }, params: {}, seed: 1, checkpointEvery: 5 });
    expect(getTrainer('logistic-regression').predictProba(state, [[0.9, 0], [0.1, 0]])[0]).toBeGreaterThan(0.5);
    expect((await errorOf(runTraining({ trainer: 'logistic-regression', data: { X, y: y.map(() => 2) }, params: {}, seed: 1, checkpointEvery: 5 }))).message).toContain('label 1 is 2, expected 0 or 1');
  });

  it('names bad params, unknown trainers, one-class data', async () => {
    const d = synthetic({ task: 'binary', rows: 100, seed: 1 });
    expect((await errorOf(runTraining({ trainer: 'gradient-boosting', data: d, params: { maxLeafNodes: 1 }, seed: 1, checkpointEvery: 1 }))).message).toContain('train.params.maxLeafNodes: must be >= 2');
    expect((await errorOf(runTraining({ trainer: 'logistic-regression', data: d, params: { epochs: '10' }, seed: 1, checkpointEvery: 1 }))).code).toBe('SPEC_INVALID');
    expect((await errorOf(() => getTrainer('svm'))).message).toContain('unknown trainer "svm"');
    const one = { ...d, y: { ...d.y, values: new Float64Array(100) } };
    expect((await errorOf(runTraining({ trainer: 'logistic-regression', data: one, params: {}, seed: 1, checkpointEvery: 1 }))).message).toContain('only one class');
  });

  it('class weights: balanced is n / (k · n_class); explicit weights name unknown classes', () => {
    const y = { task: 'binary' as const, values: Float64Array.from([0, 0, 0, 1]), classes: ['no', 'yes'] };
    expect(classWeights(y, 'balanced').perClass).toEqual({ no: 4 / 6, yes: 2 });
    expect(Array.from(classWeights(y, { yes: 5 }).weights)).toEqual([1, 1, 1, 5]);
    expect(() => classWeights(y, { maybe: 2 })).toThrow(/train.classWeight.maybe: no such class; the classes are no, yes/);
  });
});
