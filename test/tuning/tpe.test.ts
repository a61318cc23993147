import { describe, expect, it } from 'vitest';
import { createStrategy, type TrialParams, type TrialRecord } from '../../src/tuning/strategies';
import { parseTuneSpec } from '../../src/tuning/tune-spec';

function run(strategy: 'tpe' | 'random', space: Record<string, unknown>, f: (p: TrialParams) => number, seed: number, trials: number, extra: Record<string, unknown> = {}) {
  const s = createStrategy(parseTuneSpec({ strategy, trials, seed, metric: 'logloss', space, ...extra }));
  const history: TrialRecord[] = [];
  for (;;) {
    const configs = s.suggest(history, 1);
    if (!configs.length) return history;
    for (const params of configs) history.push({ id: history.length, params, state: 'completed', metric: f(params) });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

// Minimize: the optimum sits at lr = 0.02 (log scale) in 1-D.
const space1 = { lr: { loguniform: [1e-4, 1] } };
const f1 = (p: TrialParams) => (Math.log10(p.lr as number) - Math.log10(0.02)) ** 2;

// 2-D: a float and an int, optimum at (1.3, 37).
const space2 = { x: { uniform: [-5, 5] }, n: { int: [0, 50] } };
const f2 = (p: TrialParams) => ((p.x as number) - 1.3) ** 2 + (((p.n as number) - 37) / 5) ** 2;

for (const multivariate of [true, false]) {
  describe(`tpe (${multivariate ? 'multivariate' : 'univariate'})`, () => {
    const extra = { tpe: { multivariate } };

    it('concentrates near the optimum of a 1-D objective', () => {
      for (const seed of [1, 2, 3]) {
        const tpe = run('tpe', space1, f1, seed, 40, extra);
        const random = run('random', space1, f1, seed, 40);
        // The model-based half lands much closer to the optimum than random sampling does.
        const late = tpe.slice(20).map((t) => t.metric as number);
        const rand = random.slice(20).map((t) => t.metric as number);
        expect(median(late)).toBeLessThan(median(rand) / 10);
        expect(Math.min(...tpe.map((t) => t.metric as number))).toBeLessThan(0.01); // within 0.1 decade
      }
    });

    it('concentrates near the optimum of a 2-D objective', () => {
      for (const seed of [1, 2, 3]) {
        const tpe = run('tpe', space2, f2, seed, 60, extra);
        const random = run('random', space2, f2, seed, 60);
        const late = tpe.slice(40);
        expect(median(late.map((t) => t.metric as number))).toBeLessThan(median(random.slice(40).map((t) => t.metric as number)) / 4);
        expect(median(late.map((t) => Math.abs((t.params.x as number) - 1.3)))).toBeLessThan(1);
        expect(median(late.map((t) => Math.abs((t.params.n as number) - 37)))).toBeLessThan(6);
        expect(Math.min(...tpe.map((t) => t.metric as number))).toBeLessThan(Math.min(...random.map((t) => t.metric as number)));
      }
    });
  });
}

describe('tpe with a categorical dimension', () => {
  it('learns which choice is better', () => {
    const space = { loss: { choice: ['hinge', 'log', 'huber'] }, x: { uniform: [0, 1] } };
    const f = (p: TrialParams) => (p.loss === 'log' ? 0 : 1) + ((p.x as number) - 0.5) ** 2;
    for (const multivariate of [true, false]) {
      const h = run('tpe', space, f, 5, 40, { tpe: { multivariate } });
      const late = h.slice(20);
      expect(late.filter((t) => t.params.loss === 'log').length).toBeGreaterThan(14);
    }
  });
});

describe('tpe startup and concurrency', () => {
  it('samples at random for the startup trials, then suggests a batch of distinct points', () => {
    const sp = parseTuneSpec({ strategy: 'tpe', trials: 40, seed: 1, metric: 'logloss', space: space1 });
    const rnd = createStrategy({ ...sp, strategy: 'random' });
    const tpe = createStrategy(sp);
    // Before any result, tpe suggests what random would (same generator, same draws).
    expect(tpe.suggest([], 10)).toEqual(rnd.suggest([], 10));
    // A batch of 4 from the model is 4 distinct points.
    const s2 = createStrategy(sp);
    const done: TrialRecord[] = s2.suggest([], 10).map((params, id) => ({ id, params, state: 'completed', metric: f1(params) }));
    const batch = s2.suggest(done, 4);
    expect(new Set(batch.map((p) => p.lr)).size).toBe(4);
  });
});
