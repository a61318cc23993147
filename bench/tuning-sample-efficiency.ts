/**
 * Sample efficiency of the tuning strategies on a seeded synthetic objective.
 *
 *   npx tsx bench/tuning-sample-efficiency.ts [--seeds 15] [--trials 40] [--max 120] [--batch 1,4]
 *
 * The objective mimics a validation AUC over the spec example's space
 * (learningRate loguniform [0.001, 0.5], epochs int [10, 100], trainer choice of two): a broad
 * basin plus a narrow peak whose position depends on the trainer, with Gaussian noise
 * (sd 0.002) on every observation.
 *
 * For each seed: random search's best observed value after `--trials` trials, then the number of
 * trials TPE (same seed, its own noise stream) needs until one observation reaches that value,
 * suggesting one at a time and in batches of 4 (concurrency 4: 4 suggested, all 4 evaluated,
 * the next 4 suggested — the constant liar spreads a batch). Runs past `--max` trials count as
 * "not reached" (shown as >max; the median treats them as larger than any reached count).
 * Target: median ≤ 20 trials. Prints a table and a final JSON line; exits 0 whatever the result.
 */
import { parseArgs } from 'node:util';
import { createRng, type Rng } from '../src/tuning/rng';
import { createStrategy, type TrialParams, type TrialRecord } from '../src/tuning/strategies';
import { parseTuneSpec, type TuneSpec } from '../src/tuning/tune-spec';

const TARGET_MEDIAN = 20;

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '15' },
    trials: { type: 'string', default: '40' },
    max: { type: 'string', default: '120' },
    batch: { type: 'string', default: '1,4' },
    /** TPE variant: default (the strategy's default), true or false. */
    multivariate: { type: 'string', default: 'default' },
  },
});
const SEEDS = Number(args.seeds);
const RANDOM_TRIALS = Number(args.trials);
const MAX = Number(args.max);
const BATCHES = String(args.batch).split(',').map(Number);
const MULTIVARIATE = args.multivariate === 'default' ? undefined : args.multivariate === 'true';

const SPACE = {
  learningRate: { loguniform: [0.001, 0.5] },
  epochs: { int: [10, 100] },
  trainer: { choice: ['logistic-regression', 'gradient-boosting'] },
};

/** Noise-free objective, in [0.5, ~0.95]. */
function objective(p: TrialParams): number {
  const lr = Math.log10(p.learningRate as number);
  const epochs = p.epochs as number;
  const gb = p.trainer === 'gradient-boosting';
  const lrOpt = Math.log10(gb ? 0.08 : 0.012);
  const eOpt = gb ? 72 : 41;
  const dl = lr - lrOpt;
  const de = epochs - eOpt;
  const broad = Math.exp(-0.5 * ((dl / 0.7) ** 2 + (de / 35) ** 2));
  const narrow = Math.exp(-0.5 * ((dl / 0.12) ** 2 + (de / 6) ** 2));
  return 0.6 + 0.2 * broad + (gb ? 0.15 : 0.1) * narrow;
}

function observe(p: TrialParams, noise: Rng): number {
  return objective(p) + 0.002 * noise.normal();
}

function spec(strategy: 'random' | 'tpe', seed: number, trials: number): TuneSpec {
  return parseTuneSpec({ strategy, trials, seed, metric: 'auc', space: SPACE, ...(strategy === 'tpe' ? { tpe: { startupTrials: 10, ...(MULTIVARIATE === undefined ? {} : { multivariate: MULTIVARIATE }) } } : {}) });
}

function randomBest(seed: number): number {
  const strategy = createStrategy(spec('random', seed, RANDOM_TRIALS));
  const noise = createRng(`noise-random-${seed}`);
  let bestValue = -Infinity;
  for (const p of strategy.suggest([], RANDOM_TRIALS)) bestValue = Math.max(bestValue, observe(p, noise));
  return bestValue;
}

/** Trials TPE needs for an observation >= target (Infinity past MAX), and its best after RANDOM_TRIALS. */
function tpeTrialsToReach(seed: number, target: number, batch: number): { needed: number; bestAtBudget: number } {
  const strategy = createStrategy(spec('tpe', seed, MAX));
  const noise = createRng(`noise-tpe-${seed}`);
  const history: TrialRecord[] = [];
  let needed = Infinity;
  let bestAtBudget = -Infinity;
  while (history.length < MAX) {
    const configs = strategy.suggest(history, batch);
    if (!configs.length) break;
    for (const params of configs) {
      const metric = observe(params, noise);
      history.push({ id: history.length, params, state: 'completed', metric });
      if (history.length <= RANDOM_TRIALS) bestAtBudget = Math.max(bestAtBudget, metric);
      if (metric >= target && needed === Infinity) needed = history.length;
    }
    if (needed !== Infinity && history.length >= RANDOM_TRIALS) break;
  }
  return { needed, bestAtBudget };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length;
  return m % 2 ? (s[(m - 1) / 2] as number) : ((s[m / 2 - 1] as number) + (s[m / 2] as number)) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a === b ? a : a + (b - a) * (pos - lo);
}

const fmt = (n: number) => (Number.isFinite(n) ? String(n) : `>${MAX}`);

const t0 = performance.now();
const rows: Array<{ seed: number; randomBest: number; tpe: Record<number, { needed: number; bestAtBudget: number }> }> = [];
for (let seed = 1; seed <= SEEDS; seed++) {
  const target = randomBest(seed);
  const tpe: Record<number, { needed: number; bestAtBudget: number }> = {};
  for (const b of BATCHES) tpe[b] = tpeTrialsToReach(seed, target, b);
  rows.push({ seed, randomBest: target, tpe });
}
const elapsedMs = performance.now() - t0;

const header = ['seed', `random best@${RANDOM_TRIALS}`, ...BATCHES.flatMap((b) => [`tpe(b=${b}) trials`, `tpe(b=${b}) best@${RANDOM_TRIALS}`])];
console.log(header.map((h) => h.padStart(20)).join(''));
for (const r of rows) {
  const cells = [String(r.seed), r.randomBest.toFixed(4), ...BATCHES.flatMap((b) => [fmt(r.tpe[b]!.needed), r.tpe[b]!.bestAtBudget.toFixed(4)])];
  console.log(cells.map((c) => c.padStart(20)).join(''));
}

const summary: Record<string, unknown> = {
  bench: 'tuning-sample-efficiency',
  seeds: SEEDS,
  randomTrials: RANDOM_TRIALS,
  maxTpeTrials: MAX,
  targetMedian: TARGET_MEDIAN,
  randomBestMedian: Number(median(rows.map((r) => r.randomBest)).toFixed(5)),
  elapsedMs: Math.round(elapsedMs),
};
console.log('');
for (const b of BATCHES) {
  const needed = rows.map((r) => r.tpe[b]!.needed);
  const finite = needed.filter(Number.isFinite);
  const med = median(needed);
  const tpeWins = rows.filter((r) => r.tpe[b]!.bestAtBudget >= r.randomBest).length;
  console.log(
    `tpe batch ${b}: trials to reach random's best@${RANDOM_TRIALS}: median ${fmt(med)} (target <= ${TARGET_MEDIAN}: ${med <= TARGET_MEDIAN ? 'met' : 'MISSED'}), ` +
      `p25 ${fmt(quantile(needed, 0.25))}, p75 ${fmt(quantile(needed, 0.75))}, max ${fmt(Math.max(...needed))}, reached ${finite.length}/${rows.length}; ` +
      `tpe best@${RANDOM_TRIALS} >= random best@${RANDOM_TRIALS} in ${tpeWins}/${rows.length} seeds`,
  );
  summary[`tpeBatch${b}`] = {
    medianTrials: Number.isFinite(med) ? med : null,
    met: med <= TARGET_MEDIAN,
    p25: Number.isFinite(quantile(needed, 0.25)) ? quantile(needed, 0.25) : null,
    p75: Number.isFinite(quantile(needed, 0.75)) ? quantile(needed, 0.75) : null,
    trials: needed.map((n) => (Number.isFinite(n) ? n : null)),
    reached: finite.length,
    bestAtBudgetMedian: Number(median(rows.map((r) => r.tpe[b]!.bestAtBudget)).toFixed(5)),
    winsAtBudget: tpeWins,
  };
}
console.log(JSON.stringify(summary));
