import { describe, expect, it } from 'vitest';
import { best, createStrategy, type StrategyState, type TrialParams, type TrialRecord } from '../../src/tuning/strategies';
import { parseTuneSpec, type TuneSpec } from '../../src/tuning/tune-spec';

const SPACE = {
  learningRate: { loguniform: [0.001, 0.5] },
  epochs: { int: [10, 100] },
  subsample: { uniform: [0.5, 1] },
  trainer: { choice: ['logistic-regression', 'gradient-boosting'] },
};

function spec(strategy: string, extra: Record<string, unknown> = {}): TuneSpec {
  return parseTuneSpec({ strategy, trials: 40, seed: 7, space: SPACE, ...extra });
}

/** A deterministic objective, so histories can be built without a trainer. */
function score(p: TrialParams): number {
  const lr = Math.log10(p.learningRate as number) - Math.log10(0.05);
  const e = ((p.epochs as number) - 60) / 40;
  return 0.9 - lr * lr * 0.1 - e * e * 0.05 - ((p.subsample as number) - 0.8) ** 2 + (p.trainer === 'gradient-boosting' ? 0.02 : 0);
}

/** Suggests in batches, completing every trial before the next batch; returns all suggestions. */
function drive(strategy: ReturnType<typeof createStrategy>, batch: number, history: TrialRecord[] = []): TrialParams[] {
  const out: TrialParams[] = [];
  for (;;) {
    const configs = strategy.suggest(history, batch);
    if (!configs.length) return out;
    for (const params of configs) {
      out.push(params);
      history.push({ id: history.length, params, state: 'completed', metric: score(params) });
    }
  }
}

describe('grid', () => {
  const gridSpec = parseTuneSpec({
    strategy: 'grid',
    space: {
      lr: { loguniform: [0.001, 0.1], steps: 3 },
      depth: { int: [2, 4] },
      trainer: { values: ['logistic-regression', 'gradient-boosting'] },
      fraction: { uniform: [0.5, 1], steps: 2 },
    },
  });

  it('enumerates exactly the cartesian product, in spec key order with the last key fastest', () => {
    const all = drive(createStrategy(gridSpec), 7);
    expect(all).toHaveLength(3 * 3 * 2 * 2);
    expect(new Set(all.map((p) => JSON.stringify(p))).size).toBe(all.length);
    const expected: TrialParams[] = [];
    for (const lr of [0.001, 0.01, 0.1])
      for (const depth of [2, 3, 4])
        for (const trainer of ['logistic-regression', 'gradient-boosting'])
          for (const fraction of [0.5, 1]) expected.push({ lr, depth, trainer, fraction });
    expect(all.map((p) => ({ ...p, lr: Number((p.lr as number).toPrecision(12)) }))).toEqual(expected);
    expect(Object.keys(all[0] as object)).toEqual(['lr', 'depth', 'trainer', 'fraction']);
  });

  it('is capped by trials and then returns []', () => {
    const capped = createStrategy({ ...gridSpec, trials: 5 });
    expect(capped.suggest([], 3)).toHaveLength(3);
    expect(capped.suggest([], 3)).toHaveLength(2);
    expect(capped.suggest([], 3)).toEqual([]);
    expect(capped.remaining()).toBe(0);
    const all = createStrategy(gridSpec);
    expect(drive(all, 100)).toHaveLength(36);
    expect(all.suggest([], 1)).toEqual([]);
    // trials above the product size stop at the product
    expect(drive(createStrategy({ ...gridSpec, trials: 1000 }), 10)).toHaveLength(36);
  });

  it('enumerates every integer of an int range without steps, and spaced integers with steps', () => {
    const ints = parseTuneSpec({ strategy: 'grid', space: { epochs: { int: [10, 14] } } });
    expect(drive(createStrategy(ints), 10).map((p) => p.epochs)).toEqual([10, 11, 12, 13, 14]);
    const spaced = parseTuneSpec({ strategy: 'grid', space: { epochs: { int: [10, 100], steps: 4 } } });
    expect(drive(createStrategy(spaced), 10).map((p) => p.epochs)).toEqual([10, 40, 70, 100]);
  });
});

describe('sampling strategies', () => {
  for (const name of ['random', 'tpe', 'asha'] as const) {
    it(`${name}: the same seed gives the same suggestions, another seed different ones`, () => {
      const a = drive(createStrategy(spec(name)), 4);
      const b = drive(createStrategy(spec(name)), 4);
      const c = drive(createStrategy(spec(name, { seed: 8 })), 4);
      expect(a).toHaveLength(40);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      expect(c.slice(0, 3)).not.toEqual(a.slice(0, 3));
    });

    it(`${name}: samples respect bounds and types`, () => {
      const all = drive(createStrategy(spec(name, { trials: 300 })), 8);
      expect(all).toHaveLength(300);
      for (const p of all) {
        expect(Object.keys(p).sort()).toEqual(['epochs', 'learningRate', 'subsample', 'trainer']);
        expect(Number.isInteger(p.epochs)).toBe(true);
        expect(p.epochs).toBeGreaterThanOrEqual(10);
        expect(p.epochs).toBeLessThanOrEqual(100);
        expect(typeof p.learningRate).toBe('number');
        expect(p.learningRate).toBeGreaterThanOrEqual(0.001);
        expect(p.learningRate).toBeLessThanOrEqual(0.5);
        expect(p.subsample).toBeGreaterThanOrEqual(0.5);
        expect(p.subsample).toBeLessThanOrEqual(1);
        expect(['logistic-regression', 'gradient-boosting']).toContain(p.trainer);
      }
    });

    it(`${name}: state round-trips through JSON (suggesting after a restore = suggesting without the break)`, () => {
      const straight = createStrategy(spec(name));
      const history: TrialRecord[] = [];
      const first = drive({ ...straight, suggest: (h, n) => (h.length >= 16 ? [] : straight.suggest(h, n)) }, 4, history);
      expect(first).toHaveLength(16);
      const snapshot = JSON.stringify({ spec: straight.spec, state: straight.state(), history });
      const rest = drive(straight, 4, history);

      const saved = JSON.parse(snapshot) as { spec: TuneSpec; state: StrategyState; history: TrialRecord[] };
      const restored = createStrategy(saved.spec, saved.state);
      expect(restored.remaining()).toBe(24);
      expect(drive(restored, 4, saved.history)).toEqual(rest);
    });
  }

  it('random: log-uniform samples spread evenly over the decades', () => {
    const all = drive(createStrategy(parseTuneSpec({ trials: 3000, seed: 3, space: { lr: { loguniform: [0.001, 1] } } })), 100);
    const decades = [0, 0, 0];
    for (const p of all) decades[Math.min(2, Math.floor(Math.log10(p.lr as number) + 3))]! += 1;
    for (const n of decades) expect(n / all.length).toBeGreaterThan(0.29);
  });

  it('int bounds are both reachable', () => {
    const all = drive(createStrategy(parseTuneSpec({ trials: 200, space: { d: { int: [1, 3] }, x: { uniform: [0, 1] } } })), 10);
    expect(new Set(all.map((p) => p.d))).toEqual(new Set([1, 2, 3]));
  });

  it('avoids repeating a configuration of a small discrete space while others are left', () => {
    const s = createStrategy(parseTuneSpec({ trials: 6, space: { a: { choice: [1, 2, 3] }, b: { choice: [true, false] } } }));
    const all = drive(s, 2);
    expect(new Set(all.map((p) => JSON.stringify(p))).size).toBe(6);
  });

  it('asha runs every trial to maxResource epochs and samples the rest', () => {
    const all = drive(createStrategy(spec('asha')), 8);
    expect(all.every((p) => p.epochs === 100)).toBe(true);
    expect(new Set(all.map((p) => p.learningRate)).size).toBe(40);
  });

  it('rejects a state from another strategy or seed', () => {
    const state = createStrategy(spec('random')).state();
    expect(() => createStrategy(spec('tpe'), state)).toThrow(/random/);
    expect(() => createStrategy(spec('random', { seed: 9 }), state)).toThrow(/seed 7/);
  });
});

describe('best', () => {
  const h: TrialRecord[] = [
    { id: 0, params: {}, state: 'completed', metric: 0.7 },
    { id: 1, params: {}, state: 'failed' },
    { id: 2, params: {}, state: 'completed', metric: 0.9 },
    { id: 3, params: {}, state: 'stopped', metric: 0.95 },
    { id: 4, params: {}, state: 'completed', metric: 0.9 },
    { id: 5, params: {}, state: 'completed', metric: Number.NaN },
  ];
  it('picks the best completed trial in the direction asked, ties to the lower id', () => {
    expect(best(h, 'maximize')?.id).toBe(2);
    expect(best(h, 'minimize')?.id).toBe(0);
    expect(best([], 'maximize')).toBeUndefined();
  });
});
