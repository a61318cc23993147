import { describe, expect, it } from 'vitest';
import { ashaDecide, ashaRungs, best, createStrategy, medianStop, type AshaStrategy, type TrialParams, type TrialRecord } from '../../src/tuning/strategies';
import { parseTuneSpec } from '../../src/tuning/tune-spec';

const spec = parseTuneSpec({
  strategy: 'asha',
  trials: 27,
  seed: 3,
  metric: 'auc',
  space: { learningRate: { loguniform: [0.001, 0.5] }, epochs: { int: [10, 100] } },
});
const asha = spec.asha!;

/** A trial that has reported `metric` at each of the given resources. */
function trial(id: number, reports: Array<[number, number]>, state: TrialRecord['state'] = 'running'): TrialRecord {
  return { id, params: { learningRate: 0.01 * (id + 1), epochs: 100 }, state, intermediate: reports.map(([resource, metric]) => ({ resource, metric })) };
}

describe('asha rungs', () => {
  it('sit at minResource·eta^k below maxResource', () => {
    expect(ashaRungs(asha)).toEqual([1, 3, 9, 27, 81]);
    expect(ashaRungs({ minResource: 5, reductionFactor: 2, maxResource: 80 })).toEqual([5, 10, 20, 40]);
    expect(ashaRungs({ minResource: 10, reductionFactor: 3, maxResource: 10 })).toEqual([]);
    expect((createStrategy(spec) as AshaStrategy).rungs).toEqual([1, 3, 9, 27, 81]);
  });
});

describe('asha decide', () => {
  // Eight trials already past the first rung, at 0.80 ... 0.87.
  const eight = [0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87].map((m, i) => trial(i, [[1, m]]));

  it('stops a clearly bad trial at the first rung', () => {
    const s = createStrategy(spec);
    expect(s.decide(trial(8, []), 1, 0.5, eight)).toBe('stop');
    // Also when the caller has already appended the report to the history.
    const withOwn = [...eight, trial(8, [[1, 0.5]])];
    expect(s.decide(8, 1, 0.5, withOwn)).toBe('stop');
  });

  it('keeps exactly the top 1/eta of the trials at a rung', () => {
    const s = createStrategy(spec);
    // 9 trials at the rung → keep the top 3: 0.87, 0.86 and the newcomer if it beats 0.85.
    expect(s.decide(trial(8, []), 1, 0.99, eight)).toBe('continue');
    expect(s.decide(trial(8, []), 1, 0.855, eight)).toBe('continue');
    expect(s.decide(trial(8, []), 1, 0.85, eight)).toBe('continue'); // ties count in its favour
    expect(s.decide(trial(8, []), 1, 0.845, eight)).toBe('stop');

    // With everyone at the rung, each trial's decision keeps exactly the best third.
    const metrics = [0.61, 0.93, 0.7, 0.55, 0.88, 0.72, 0.9, 0.5, 0.66, 0.8, 0.74, 0.59, 0.91, 0.68, 0.77, 0.85, 0.52, 0.63, 0.95, 0.58, 0.79, 0.69, 0.83, 0.6, 0.71, 0.57, 0.87];
    const all = metrics.map((m, i) => trial(i, [[1, m]]));
    const kept = all.filter((t) => ashaDecide(asha, 'maximize', t, 1, t.intermediate![0]!.metric, all) === 'continue').map((t) => t.intermediate![0]!.metric);
    expect(kept.sort()).toEqual([...metrics].sort((a, b) => b - a).slice(0, 9).sort());
  });

  it('uses the direction: for logloss lower is better', () => {
    const lossSpec = parseTuneSpec({ ...spec, metric: 'logloss', direction: undefined });
    const losses = Array.from({ length: 8 }, (_, i) => trial(i, [[1, 0.3 + i / 100]]));
    const s = createStrategy(lossSpec);
    expect(s.decide(trial(8, []), 1, 0.9, losses)).toBe('stop');
    expect(s.decide(trial(8, []), 1, 0.1, losses)).toBe('continue');
  });

  it('decides only when a report first reaches a rung', () => {
    const s = createStrategy(spec);
    // Between rungs: no decision.
    expect(s.decide(trial(8, [[1, 0.9]]), 2, 0.1, eight)).toBe('continue');
    // Past a rung already reported at: decided there, not again.
    expect(s.decide(trial(8, [[1, 0.9], [2, 0.9]]), 3 - 0.5, 0.1, eight)).toBe('continue');
    // At or past maxResource: no rung.
    expect(s.decide(trial(8, [[81, 0.9]]), 100, 0.1, eight)).toBe('continue');
    // A report that jumps past a rung (reports every 5 epochs) is judged at the highest rung crossed.
    const atThree = Array.from({ length: 8 }, (_, i) => trial(i, [[1, 0.8], [3, 0.8 + i / 100]]));
    expect(s.decide(trial(8, [[1, 0.9]]), 5, 0.5, atThree)).toBe('stop');
  });

  it('lets the first trial at a rung through and compares later ones with everyone that got there', () => {
    const s = createStrategy(spec);
    expect(s.decide(trial(0, []), 1, 0.1, [])).toBe('continue');
    // The second trial at the rung: top max(1, floor(2/3)) = 1, so only a better one continues.
    expect(s.decide(trial(1, []), 1, 0.05, [trial(0, [[1, 0.1]], 'stopped')])).toBe('stop');
    expect(s.decide(trial(1, []), 1, 0.2, [trial(0, [[1, 0.1]], 'completed')])).toBe('continue');
  });

  it('never stops anything when the spec has no asha section', () => {
    const s = createStrategy(parseTuneSpec({ ...spec, strategy: 'random', asha: undefined }));
    expect(s.spec.asha).toBeUndefined();
    expect(s.decide(trial(8, []), 1, 0.0, eight)).toBe('continue');
  });

  it('saves most of the epochs on a simulated run and still finds the best configuration', () => {
    // Learning curves: quality q in (0, 1) by config, metric(e) = 0.5 + 0.4·q·(1 - e^(-e/15)).
    const quality = (p: TrialParams) => Math.exp(-((Math.log10(p.learningRate as number) + 1.5) ** 2));
    const curve = (p: TrialParams, e: number) => 0.5 + 0.4 * quality(p) * (1 - Math.exp(-e / 15));
    const s = createStrategy(spec);
    const history: TrialRecord[] = [];
    let epochsUsed = 0;
    // Concurrency 3: a batch runs epoch by epoch side by side, each report decided by ASHA.
    for (;;) {
      const configs = s.suggest(history, 3);
      if (!configs.length) break;
      const batch = configs.map((params) => {
        const t: TrialRecord = { id: history.length, params, state: 'running', intermediate: [] };
        history.push(t);
        return t;
      });
      for (let e = 1; e <= asha.maxResource; e++) {
        for (const t of batch) {
          if (t.state !== 'running') continue;
          const m = curve(t.params, e);
          t.intermediate!.push({ resource: e, metric: m });
          epochsUsed++;
          if (e === t.params.epochs) Object.assign(t, { state: 'completed', metric: m });
          else if (s.decide(t, e, m, history) === 'stop') Object.assign(t, { state: 'stopped', metric: m });
        }
      }
    }
    expect(history).toHaveLength(27);
    const stopped = history.filter((t) => t.state === 'stopped');
    expect(stopped.length).toBeGreaterThan(15);
    expect(epochsUsed).toBeLessThan(0.4 * 27 * 100);
    const trueBest = [...history].sort((a, b) => quality(b.params) - quality(a.params))[0]!;
    expect(best(history, 'maximize')?.id).toBe(trueBest.id);
  });
});

describe('median stopping rule', () => {
  const others = [trial(0, [[1, 0.6], [2, 0.7], [3, 0.8]]), trial(1, [[1, 0.5], [2, 0.6], [3, 0.7]]), trial(2, [[1, 0.4], [2, 0.5], [3, 0.6]])];
  it('stops a trial whose best so far is below the median of the running averages', () => {
    // running averages at 2: 0.65, 0.55, 0.45 → median 0.55
    expect(medianStop(trial(3, [[1, 0.5]]), 2, 0.52, others, 'maximize')).toBe('stop');
    expect(medianStop(trial(3, [[1, 0.5]]), 2, 0.56, others, 'maximize')).toBe('continue');
    // best so far counts, not just the latest value
    expect(medianStop(trial(3, [[1, 0.6]]), 2, 0.3, others, 'maximize')).toBe('continue');
  });
  it('waits for enough trials and for minResource', () => {
    expect(medianStop(trial(3, []), 2, 0.1, others.slice(0, 2), 'maximize')).toBe('continue');
    expect(medianStop(trial(3, []), 2, 0.1, others, 'maximize', { minResource: 3 })).toBe('continue');
    expect(medianStop(trial(3, []), 2, 0.9, others, 'minimize')).toBe('stop');
  });
});
