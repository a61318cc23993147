import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { METRICS } from '../../src/spec/pipeline-spec';
import { parseTuneSpec, TUNE_METRICS } from '../../src/tuning/tune-spec';

const EXAMPLE = {
  strategy: 'random',
  trials: 40,
  concurrency: 8,
  seed: 7,
  metric: 'auc',
  direction: 'maximize',
  space: {
    learningRate: { loguniform: [0.001, 0.5] },
    epochs: { int: [10, 100] },
    trainer: { choice: ['logistic-regression', 'gradient-boosting'] },
  },
};

function errorOf(doc: unknown): MlcycleError {
  try {
    parseTuneSpec(doc);
  } catch (err) {
    if (err instanceof MlcycleError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const withSpace = (space: unknown, extra: Record<string, unknown> = {}) => ({ ...EXAMPLE, ...extra, space });

describe('tune spec', () => {
  it('parses the documented example unchanged, and parsing its output again gives the same', () => {
    const spec = parseTuneSpec(EXAMPLE);
    expect(spec).toEqual(EXAMPLE);
    expect(parseTuneSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(Object.keys(spec.space)).toEqual(['learningRate', 'epochs', 'trainer']);
  });

  it('fills in defaults: strategy random, 20 trials, concurrency 1, maximize (minimize for logloss)', () => {
    const spec = parseTuneSpec({ space: { x: { uniform: [0, 1] } } });
    expect(spec).toMatchObject({ strategy: 'random', trials: 20, concurrency: 1, seed: 0, metric: 'auc', direction: 'maximize' });
    expect(spec.asha).toBeUndefined();
    expect(parseTuneSpec({ metric: 'logloss', space: { x: { uniform: [0, 1] } } }).direction).toBe('minimize');
    expect(parseTuneSpec({ metric: 'logloss', direction: 'maximize', space: { x: { uniform: [0, 1] } } }).direction).toBe('maximize');
  });

  it('accepts every distribution and values as an alias of choice', () => {
    const spec = parseTuneSpec(
      withSpace({
        a: { uniform: [-1, 1] },
        b: { loguniform: [1e-4, 1] },
        c: { int: [1, 1] },
        d: { choice: ['x', 2, true] },
        e: { values: [32, 64] },
      }),
    );
    expect(spec.space.e).toEqual({ values: [32, 64] });
  });

  it('keeps the metric list in step with the pipeline spec', () => {
    expect([...TUNE_METRICS]).toEqual([...METRICS]);
  });

  const cases: Array<[string, unknown, string]> = [
    ['empty space', withSpace({}), 'tune.space: needs at least one parameter'],
    ['no space', { trials: 3 }, 'tune.space: '],
    ['min > max (int)', withSpace({ epochs: { int: [100, 10] } }), 'tune.space.epochs.int: min must be <= max'],
    ['min > max (uniform)', withSpace({ subsample: { uniform: [1, 0.5] } }), 'tune.space.subsample.uniform: min must be <= max'],
    ['min > max (loguniform)', withSpace({ lr: { loguniform: [0.5, 0.001] } }), 'tune.space.lr.loguniform: min must be <= max'],
    ['unknown distribution', withSpace({ lr: { normal: [0, 1] } }), 'tune.space.lr: unknown distribution "normal": expected one of uniform, loguniform, int, choice, values'],
    ['two distributions', withSpace({ lr: { uniform: [0, 1], loguniform: [0.1, 1] } }), 'tune.space.lr: give exactly one distribution'],
    ['not an object', withSpace({ lr: 0.1 }), 'tune.space.lr: expected a distribution'],
    ['choice of nothing', withSpace({ trainer: { choice: [] } }), 'tune.space.trainer.choice: needs at least one value'],
    ['values of nothing', withSpace({ batchSize: { values: [] } }), 'tune.space.batchSize.values: needs at least one value'],
    ['choice of objects', withSpace({ x: { choice: [{ a: 1 }] } }), 'tune.space.x.choice.0: '],
    ['bounds not a pair', withSpace({ x: { uniform: [1] } }), 'tune.space.x.uniform: '],
    ['int bounds not integers', withSpace({ epochs: { int: [1.5, 10] } }), 'tune.space.epochs.int.0: must be an integer'],
    ['stray key in a dimension', withSpace({ x: { uniform: [0, 1], step: 3 } }), 'tune.space.x: '],
    ['trials < 1', { ...EXAMPLE, trials: 0 }, 'tune.trials: must be >= 1'],
    ['trials not an integer', { ...EXAMPLE, trials: 2.5 }, 'tune.trials: must be an integer'],
    ['concurrency < 1', { ...EXAMPLE, concurrency: 0 }, 'tune.concurrency: must be >= 1'],
    ['loguniform lo = 0', withSpace({ lr: { loguniform: [0, 0.5] } }), 'tune.space.lr.loguniform: min must be > 0'],
    ['loguniform lo < 0', withSpace({ lr: { loguniform: [-1, 0.5] } }), 'tune.space.lr.loguniform: min must be > 0'],
    ['grid over uniform without steps', withSpace({ subsample: { uniform: [0.5, 1] } }, { strategy: 'grid' }), 'tune.space.subsample.steps: grid search over a continuous uniform range needs steps: n'],
    ['grid over loguniform without steps', withSpace(EXAMPLE.space, { strategy: 'grid' }), 'tune.space.learningRate.steps: grid search over a continuous loguniform range needs steps: n'],
    ['steps < 1', withSpace({ lr: { loguniform: [0.01, 1], steps: 0 } }, { strategy: 'grid' }), 'tune.space.lr.steps: must be >= 1'],
    ['unknown strategy', { ...EXAMPLE, strategy: 'bayes' }, 'tune.strategy: expected one of grid, random, tpe, asha'],
    ['unknown metric', { ...EXAMPLE, metric: 'rmsle' }, 'tune.metric: expected one of auc, accuracy, f1, precision, recall, logloss, pr_auc, balanced_accuracy, brier, macro_f1, weighted_f1, auc_ovr, rmse, mae, r2, mape'],
    ['bad direction', { ...EXAMPLE, direction: 'up' }, 'tune.direction: expected maximize or minimize'],
    ['unknown trainer', withSpace({ trainer: { choice: ['logistic-regression', 'svm'] } }), 'tune.space.trainer.choice.1: unknown trainer "svm"'],
    ['unknown key', { ...EXAMPLE, budget: 3 }, 'tune: '],
    ['asha without epochs or maxResource', withSpace({ lr: { loguniform: [0.01, 1] } }, { strategy: 'asha' }), 'tune.asha.maxResource: required when tune.space has no epochs dimension'],
    ['asha minResource > maxResource', { ...EXAMPLE, strategy: 'asha', asha: { minResource: 200 } }, 'tune.asha.minResource: must be <= maxResource (100)'],
    ['asha reductionFactor <= 1', { ...EXAMPLE, strategy: 'asha', asha: { reductionFactor: 1 } }, 'tune.asha.reductionFactor: must be > 1'],
    ['tpe gamma out of range', { ...EXAMPLE, strategy: 'tpe', tpe: { gamma: 1.5 } }, 'tune.tpe.gamma: must be < 1'],
  ];
  it.each(cases)('rejects %s, naming the field', (_name, doc, message) => {
    const err = errorOf(doc);
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(message);
  });

  it('lists every bad field at once', () => {
    const err = errorOf({ trials: 0, concurrency: 0, space: { epochs: { int: [9, 1] }, lr: { loguniform: [0, 1] }, t: { choice: [] } } });
    for (const p of ['tune.trials: ', 'tune.concurrency: ', 'tune.space.epochs.int: ', 'tune.space.lr.loguniform: ', 'tune.space.t.choice: ']) {
      expect(err.message).toContain(p);
    }
  });

  it('grid: takes steps for continuous ranges and defaults trials to the product size', () => {
    const spec = parseTuneSpec({
      strategy: 'grid',
      space: { lr: { loguniform: [0.001, 0.1], steps: 3 }, epochs: { int: [10, 12] }, trainer: { values: ['logistic-regression', 'gradient-boosting'] } },
    });
    expect(spec.trials).toBe(3 * 3 * 2);
    expect(parseTuneSpec({ strategy: 'grid', trials: 5, space: { x: { values: [1, 2, 3] } } }).trials).toBe(5);
  });

  it('asha: defaults eta 3, minResource 1 and maxResource to the epochs maximum', () => {
    expect(parseTuneSpec({ ...EXAMPLE, strategy: 'asha' }).asha).toEqual({ minResource: 1, reductionFactor: 3, maxResource: 100 });
    expect(parseTuneSpec({ ...EXAMPLE, strategy: 'asha', asha: { minResource: 5, reductionFactor: 2, maxResource: 80 } }).asha).toEqual({
      minResource: 5,
      reductionFactor: 2,
      maxResource: 80,
    });
    expect(parseTuneSpec(withSpace({ epochs: { choice: [20, 50, 40] } }, { strategy: 'asha' })).asha?.maxResource).toBe(50);
    // An asha section with another strategy turns early stopping on for it.
    expect(parseTuneSpec({ ...EXAMPLE, strategy: 'tpe', asha: {} }).asha).toEqual({ minResource: 1, reductionFactor: 3, maxResource: 100 });
    // Parsing the resolved spec again is stable.
    const once = parseTuneSpec({ ...EXAMPLE, strategy: 'asha' });
    expect(parseTuneSpec(once)).toEqual(once);
  });
});
