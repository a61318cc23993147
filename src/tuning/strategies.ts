/**
 * Suggestion strategies for hyperparameter tuning, written to run inside a Temporal workflow:
 * deterministic (all randomness from a seeded generator whose state is part of the strategy
 * state), no clocks, no I/O, no Node built-ins, and every bit of state plain JSON so the workflow
 * can continue-as-new with `strategy.state()` and the trial history.
 *
 * A strategy is a function of (spec, state, history): `suggest(history, count)` returns up to
 * `count` new configurations ([] once `spec.trials` have been suggested or a grid is exhausted)
 * and advances the state; given the same state and history it always returns the same configs,
 * so suggesting after a restore is the same as suggesting without the break.
 *
 *   const strategy = createStrategy(parseTuneSpec(spec.tune), savedState);
 *   const configs = strategy.suggest(history, freeSlots);
 *   ... on each intermediate report: if (strategy.decide(trial, epoch, auc, history) === 'stop') cancel it
 *   ... continueAsNew({ state: strategy.state(), history })
 *
 * Strategies: grid (cartesian product, spec key order, last key fastest), random, tpe (see
 * tpe.ts; after the startup trials, pending/running trials and the batch being suggested count as
 * "bad" — the constant liar — so concurrent suggestions spread out), asha (random suggestions plus
 * asynchronous successive halving as early stopping).
 */
import { createRng, rngStateFromSeed, type Rng, type RngState } from './rng';
import { configKey, normalizeSpace, sampleConfig, gridValues, type DimSpec } from './space';
import { tpeSample, type TpeOptions } from './tpe';
import type { ParamValue, ResolvedAsha, TrialParams, TuneSpec, TuneStrategyName } from './tune-spec';

export type { ParamValue, TrialParams } from './tune-spec';

export type TrialState = 'pending' | 'running' | 'completed' | 'failed' | 'stopped';

export interface TrialRecord {
  id: number;
  params: TrialParams;
  state: TrialState;
  /** Final metric (completed trials); a stopped trial may carry its last intermediate value. */
  metric?: number;
  /** Intermediate reports, resource = epochs done. */
  intermediate?: Array<{ resource: number; metric: number }>;
}

export type Direction = 'maximize' | 'minimize';
export type Decision = 'continue' | 'stop';

export interface StrategyState {
  version: 1;
  strategy: TuneStrategyName;
  seed: number;
  rng: RngState;
  /** Configurations handed out so far (grid: the next index into the product). */
  suggested: number;
}

export interface Strategy {
  readonly name: TuneStrategyName;
  readonly spec: TuneSpec;
  /** Up to `count` new configurations; [] when the trial budget (or the grid) is used up. */
  suggest(history: readonly TrialRecord[], count: number): TrialParams[];
  /**
   * Early stopping on an intermediate report: ASHA's rule when the spec has `asha` (strategy asha,
   * or an asha section with another strategy), otherwise always 'continue'.
   */
  decide(trial: TrialRecord | number, resource: number, metric: number, history: readonly TrialRecord[]): Decision;
  /** Configurations still to be suggested. */
  remaining(): number;
  /** A JSON-safe copy of the state; pass it to createStrategy to carry on. */
  state(): StrategyState;
}

export interface AshaStrategy extends Strategy {
  /** Rung resources (epochs) at which trials are compared, ascending, all < maxResource. */
  readonly rungs: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Whether `a` is strictly better than `b` in the given direction. */
export function isBetter(a: number, b: number, direction: Direction): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

/** The best completed trial (ties: the lower id), or undefined when none completed with a finite metric. */
export function best(history: readonly TrialRecord[], direction: Direction): TrialRecord | undefined {
  let out: TrialRecord | undefined;
  for (const t of history) {
    if (t.state !== 'completed' || typeof t.metric !== 'number' || !Number.isFinite(t.metric)) continue;
    if (!out || isBetter(t.metric, out.metric as number, direction) || (t.metric === out.metric && t.id < out.id)) out = t;
  }
  return out;
}

function byId(history: readonly TrialRecord[]): TrialRecord[] {
  return [...history].sort((a, b) => a.id - b.id);
}

function intermediateOf(trial: TrialRecord | undefined): Array<{ resource: number; metric: number }> {
  return (trial?.intermediate ?? []).filter((r) => Number.isFinite(r.resource) && Number.isFinite(r.metric)).sort((a, b) => a.resource - b.resource);
}

// ---------------------------------------------------------------------------------------------
// ASHA

/** minResource·η^k for k = 0, 1, ... while below maxResource (rounded to whole epochs, distinct). */
export function ashaRungs(asha: ResolvedAsha): number[] {
  const rungs: number[] = [];
  for (let k = 0; k < 64; k++) {
    const r = Math.round(asha.minResource * Math.pow(asha.reductionFactor, k));
    if (r >= asha.maxResource) break;
    if (rungs[rungs.length - 1] !== r) rungs.push(r);
  }
  return rungs;
}

/** A trial's metric at a rung: its first report at or past the rung's resource. */
function valueAtRung(trial: TrialRecord, rung: number): number | undefined {
  return intermediateOf(trial).find((r) => r.resource >= rung)?.metric;
}

/**
 * ASHA as early stopping (the "asynchronous successive halving" stopping variant Ray Tune's
 * ASHAScheduler uses): when a trial's report is its first at or past a rung, it is compared with
 * every other trial that has reached that rung (whatever their state); it continues only if it
 * ranks within the top max(1, ⌊n/η⌋) of those n trials (ties count in its favour). Reports
 * between rungs, and at or past maxResource, always continue.
 *
 * Stateless: everything comes from `history` (the trial's own earlier reports included; the
 * current report may already be in it or not — reports at this same resource are taken to be
 * this one, so a repeated report at a rung is judged again against the trials there by then).
 */
export function ashaDecide(
  asha: ResolvedAsha,
  direction: Direction,
  trial: TrialRecord | number,
  resource: number,
  metric: number,
  history: readonly TrialRecord[],
): Decision {
  if (!Number.isFinite(resource)) return 'continue';
  const id = typeof trial === 'number' ? trial : trial.id;
  const own = history.find((t) => t.id === id) ?? (typeof trial === 'number' ? undefined : trial);
  const earlier = intermediateOf(own).filter((r) => r.resource < resource);
  const prevMax = earlier.length ? (earlier[earlier.length - 1] as { resource: number }).resource : 0;
  const rungs = ashaRungs(asha);
  let rung: number | undefined;
  for (const r of rungs) if (r > prevMax && r <= resource) rung = r;
  if (rung === undefined) return 'continue';
  if (!Number.isFinite(metric)) return 'stop';
  let better = 0;
  let n = 1;
  for (const t of history) {
    if (t.id === id) continue;
    const v = valueAtRung(t, rung);
    if (v === undefined || !Number.isFinite(v)) continue;
    n++;
    if (isBetter(v, metric, direction)) better++;
  }
  const keep = Math.max(1, Math.floor(n / asha.reductionFactor));
  return better < keep ? 'continue' : 'stop';
}

export interface MedianStopOptions {
  /** No decision before this resource (epochs). Default 1. */
  minResource?: number;
  /** No decision until this many other trials have reached the resource. Default 3. */
  minTrials?: number;
}

/**
 * The median stopping rule (Golovin et al., Google Vizier): stop a trial whose best value so far is
 * worse than the median of the other trials' running averages up to the same resource, counting
 * only trials that have reported at that resource or later.
 */
export function medianStop(
  trial: TrialRecord | number,
  resource: number,
  metric: number,
  history: readonly TrialRecord[],
  direction: Direction,
  options: MedianStopOptions = {},
): Decision {
  const { minResource = 1, minTrials = 3 } = options;
  if (resource < minResource) return 'continue';
  const id = typeof trial === 'number' ? trial : trial.id;
  const own = history.find((t) => t.id === id) ?? (typeof trial === 'number' ? undefined : trial);
  let bestSoFar = metric;
  for (const r of intermediateOf(own)) if (r.resource <= resource && isBetter(r.metric, bestSoFar, direction)) bestSoFar = r.metric;
  if (!Number.isFinite(bestSoFar)) return 'stop';
  const averages: number[] = [];
  for (const t of history) {
    if (t.id === id) continue;
    const reports = intermediateOf(t);
    if (!reports.length || (reports[reports.length - 1] as { resource: number }).resource < resource) continue;
    const upTo = reports.filter((r) => r.resource <= resource);
    if (!upTo.length) continue;
    averages.push(upTo.reduce((s, r) => s + r.metric, 0) / upTo.length);
  }
  if (averages.length < minTrials) return 'continue';
  averages.sort((a, b) => a - b);
  const m = averages.length;
  const median = m % 2 ? (averages[(m - 1) / 2] as number) : ((averages[m / 2 - 1] as number) + (averages[m / 2] as number)) / 2;
  return isBetter(median, bestSoFar, direction) ? 'stop' : 'continue';
}

// ---------------------------------------------------------------------------------------------
// Strategies

/** Default TPE startup: min(10, max(2, ceil(trials / 4))). */
export function tpeStartupTrials(spec: TuneSpec): number {
  return spec.tpe?.startupTrials ?? Math.min(10, Math.max(2, Math.ceil(spec.trials / 4)));
}

const MAX_DUPLICATE_RETRIES = 16;
const MULTIVARIATE_DEFAULT = true;

function initialState(spec: TuneSpec): StrategyState {
  return { version: 1, strategy: spec.strategy, seed: spec.seed, rng: rngStateFromSeed(`mlcycle-tune:${spec.seed}`), suggested: 0 };
}

function checkState(spec: TuneSpec, state: StrategyState): StrategyState {
  if (!state || state.version !== 1 || !Array.isArray(state.rng) || state.rng.length !== 4 || !Number.isInteger(state.suggested) || state.suggested < 0) {
    throw new Error('tuning strategy state is not a version-1 state from strategy.state()');
  }
  if (state.strategy !== spec.strategy || state.seed !== spec.seed) {
    throw new Error(`tuning strategy state is for ${state.strategy} (seed ${state.seed}), not for ${spec.strategy} (seed ${spec.seed})`);
  }
  return { version: 1, strategy: state.strategy, seed: state.seed, rng: [...state.rng] as RngState, suggested: state.suggested };
}

export function createStrategy(spec: TuneSpec, state?: StrategyState): Strategy {
  let st = state ? checkState(spec, state) : initialState(spec);
  const dims = normalizeSpace(spec.space);
  const grid = spec.strategy === 'grid' ? dims.map(gridValues) : [];
  const gridSize = grid.reduce((n, vs) => n * vs.length, 1);
  const budget = spec.strategy === 'grid' ? Math.min(spec.trials, gridSize) : spec.trials;
  const asha = spec.asha;
  const rungs = asha ? ashaRungs(asha) : [];
  // ASHA allocates epochs itself: every sampled trial runs to maxResource unless stopped (a grid
  // keeps the epochs it enumerates).
  const fixed: TrialParams = asha && 'epochs' in spec.space && spec.strategy !== 'grid' ? { epochs: asha.maxResource } : {};
  const tpeOpts: TpeOptions = { candidates: spec.tpe?.candidates ?? 24, priorWeight: spec.tpe?.priorWeight ?? 1, multivariate: spec.tpe?.multivariate ?? MULTIVARIATE_DEFAULT };
  const gamma = spec.tpe?.gamma ?? 0.25;
  const startup = tpeStartupTrials(spec);

  function gridAt(index: number): TrialParams {
    const out: TrialParams = {};
    let rest = index;
    for (let i = dims.length - 1; i >= 0; i--) {
      const values = grid[i] as ParamValue[];
      out[(dims[i] as DimSpec).name] = values[rest % values.length] as ParamValue;
      rest = Math.floor(rest / values.length);
    }
    // Keep the spec's key order in the returned object.
    const ordered: TrialParams = {};
    for (const d of dims) ordered[d.name] = out[d.name] as ParamValue;
    return ordered;
  }

  function sampleUnique(rng: Rng, seen: Set<string>, draw: () => TrialParams): TrialParams {
    let config = { ...draw(), ...fixed };
    for (let i = 0; i < MAX_DUPLICATE_RETRIES && seen.has(configKey(dims, config)); i++) config = { ...draw(), ...fixed };
    seen.add(configKey(dims, config));
    return config;
  }

  function suggest(history: readonly TrialRecord[], count: number): TrialParams[] {
    const n = Math.max(0, Math.min(Math.floor(count), budget - st.suggested));
    if (n === 0) return [];
    if (spec.strategy === 'grid') {
      const out = Array.from({ length: n }, (_, i) => gridAt(st.suggested + i));
      st = { ...st, suggested: st.suggested + n };
      return out;
    }
    const rng = createRng(st.rng);
    const trials = byId(history);
    const seen = new Set(trials.map((t) => configKey(dims, t.params)));
    const out: TrialParams[] = [];
    if (spec.strategy === 'tpe') {
      const sign = spec.direction === 'maximize' ? -1 : 1;
      const done = trials
        .filter((t) => t.state === 'completed' && typeof t.metric === 'number' && Number.isFinite(t.metric))
        .map((t) => ({ params: t.params, loss: sign * (t.metric as number), id: t.id }))
        .sort((a, b) => a.loss - b.loss || a.id - b.id);
      const nGood = Math.min(25, Math.max(1, Math.ceil(gamma * done.length)));
      const good = done.slice(0, nGood).map((o) => o.params);
      // Constant liar: unfinished and early-stopped trials count as bad, so a batch spreads out.
      const bad = done.slice(nGood).map((o) => o.params);
      for (const t of trials) if (t.state === 'pending' || t.state === 'running' || t.state === 'stopped') bad.push(t.params);
      for (let i = 0; i < n; i++) {
        const useModel = st.suggested + i >= startup && done.length >= 2;
        const config = sampleUnique(rng, seen, () => (useModel ? tpeSample(dims, good, bad, rng, tpeOpts) : sampleConfig(dims, rng)));
        out.push(config);
        bad.push(config);
      }
    } else {
      for (let i = 0; i < n; i++) out.push(sampleUnique(rng, seen, () => sampleConfig(dims, rng)));
    }
    st = { ...st, rng: rng.state(), suggested: st.suggested + n };
    return out;
  }

  const strategy: AshaStrategy = {
    name: spec.strategy,
    spec,
    rungs,
    suggest,
    decide(trial, resource, metric, history) {
      return asha ? ashaDecide(asha, spec.direction, trial, resource, metric, history) : 'continue';
    },
    remaining: () => Math.max(0, budget - st.suggested),
    state: () => ({ ...st, rng: [...st.rng] as RngState }),
  };
  return strategy;
}
