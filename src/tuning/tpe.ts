/**
 * Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio, Kégl 2011): the observed
 * configurations are split into a "good" group (the best γ fraction) and a "bad" group; l(x) is a
 * Parzen density fitted to the good ones and g(x) one fitted to the bad ones; candidates are drawn
 * from l and the one with the largest l(x)/g(x) is taken.
 *
 * Kernels: numeric dimensions get truncated Gaussians in the dimension's own space (log space for
 * loguniform; integers as a continuous range widened by ±0.5 and scored by the mass of their unit
 * interval), one per observation plus a prior kernel centred on the range with the range's width;
 * choice dimensions get per-observation categorical kernels (1 + w/K on the observed value, w/K
 * on each, normalized) plus a uniform prior — summed over the observations these are the smoothed
 * category frequencies.
 *
 * Two modes:
 *  - univariate (hyperopt, Optuna's default): each dimension has its own mixture and picks its own
 *    best candidate; bandwidths by hyperopt's adaptive_parzen_normal (the larger gap to a sorted
 *    neighbour, clipped to [range / min(100, n + 1), range]);
 *  - multivariate (Falkner et al. 2018 / Optuna `multivariate=True`, the default here): the
 *    mixture's components are products of one kernel per dimension, so candidates keep
 *    interactions such as trainer × learning rate; bandwidths 0.2·range·n^(-1/(d+4)), same clip.
 *    On the sample-efficiency bench (3-D, trainer-dependent optimum) it needed a median 17 trials
 *    to match random search's best of 40 against 22 for univariate (60 seeds, sequential).
 *
 * Pure functions over plain data; all randomness comes from the seeded Rng passed in.
 */
import type { Rng } from './rng';
import type { DimSpec } from './space';
import { inDimension } from './space';
import type { ParamValue, TrialParams } from './tune-spec';

export interface TpeOptions {
  candidates: number;
  priorWeight: number;
  /** Joint kernels over all dimensions (captures interactions such as trainer × learning rate). */
  multivariate: boolean;
}

// ---------------------------------------------------------------------------------------------
// Normal distribution helpers

/** erfc with ~1.2e-7 relative accuracy everywhere (Numerical Recipes' erfcc), good in the tails. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(a < Z < b) for a standard normal Z, computed on the side that keeps precision. */
function normalMass(a: number, b: number): number {
  if (a >= 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  if (b <= 0) return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
  return 1 - 0.5 * erfc(-a / Math.SQRT2) - 0.5 * erfc(b / Math.SQRT2);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const TINY = 1e-300;

function logSumExp(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

// ---------------------------------------------------------------------------------------------
// Kernels: for one dimension, one kernel per observation (in the order given) plus the prior's
// kernel last. Univariate TPE mixes each dimension's kernels on its own; multivariate TPE mixes
// products of kernels across dimensions (component c = observation c in every dimension).

interface DimKernels {
  /** log k_c(x). */
  logK(c: number, x: ParamValue): number;
  sample(c: number, rng: Rng): ParamValue;
}

type NumericDim = Extract<DimSpec, { kind: 'float' | 'int' }>;

function numericBounds(d: NumericDim): [number, number] {
  if (d.kind === 'int') return [d.low - 0.5, d.high + 0.5];
  return d.log ? [Math.log(d.low), Math.log(d.high)] : [d.low, d.high];
}

/**
 * Bandwidths. 'neighbor' is hyperopt's adaptive_parzen_normal: the larger gap to a sorted
 * neighbour; 'scott' is Optuna's multivariate rule, 0.2·range·n^(-1/(dims+4)) for every kernel.
 * Both clipped to [range / min(100, n + 1), range]; the prior's is the range.
 */
function bandwidths(mus: readonly number[], priorMu: number, range: number, rule: 'neighbor' | 'scott', nDims: number): number[] {
  const n = mus.length;
  const minSigma = range / Math.min(100, 1 + (n + 1));
  const clip = (s: number) => Math.min(range, Math.max(minSigma, s));
  if (rule === 'scott') return mus.map(() => clip(0.2 * range * Math.pow(Math.max(n, 1), -1 / (nDims + 4))));
  if (n === 0) return [];
  if (n === 1) return [clip(0.5 * range)];
  // Sort observations and the prior together (the prior before equal values), gaps between neighbours.
  const pts = mus.map((mu, i) => ({ mu, i })).concat([{ mu: priorMu, i: -1 }]);
  pts.sort((p, q) => p.mu - q.mu || (p.i === q.i ? 0 : p.i < 0 ? -1 : q.i < 0 ? 1 : p.i - q.i));
  const out = new Array<number>(n).fill(range);
  for (let k = 0; k < pts.length; k++) {
    const p = pts[k]!;
    if (p.i < 0) continue;
    const left = k > 0 ? p.mu - pts[k - 1]!.mu : undefined;
    const right = k < pts.length - 1 ? pts[k + 1]!.mu - p.mu : undefined;
    out[p.i] = clip(Math.max(left ?? 0, right ?? 0));
  }
  return out;
}

function numericKernels(d: NumericDim, obs: readonly number[], rule: 'neighbor' | 'scott', nDims: number): DimKernels {
  const [lo, hi] = numericBounds(d);
  const toT = (v: number) => (d.kind === 'float' && d.log ? Math.log(v) : v);
  const range = hi - lo || 1;
  const priorMu = 0.5 * (lo + hi);
  const mus = obs.map(toT);
  const sigmas = bandwidths(mus, priorMu, range, rule, nDims).concat([range]);
  mus.push(priorMu);
  const logZ = mus.map((mu, c) => Math.log(Math.max(TINY, normalMass((lo - mu) / sigmas[c]!, (hi - mu) / sigmas[c]!))));
  const integer = d.kind === 'int';
  return {
    logK(c, x) {
      const mu = mus[c]!;
      const s = sigmas[c]!;
      const t = toT(x as number);
      if (integer) {
        const a = (Math.max(lo, t - 0.5) - mu) / s;
        const b = (Math.min(hi, t + 0.5) - mu) / s;
        return Math.log(Math.max(TINY, normalMass(a, b))) - logZ[c]!;
      }
      const z = (t - mu) / s;
      return -0.5 * z * z - LOG_SQRT_2PI - Math.log(s) - logZ[c]!;
    },
    sample(c, rng) {
      const mu = mus[c]!;
      const s = sigmas[c]!;
      let t = Math.min(hi, Math.max(lo, mu));
      for (let attempt = 0; attempt < 64; attempt++) {
        const x = mu + s * rng.normal();
        if (x >= lo && x <= hi) {
          t = x;
          break;
        }
      }
      if (integer) return Math.min(d.high, Math.max(d.low, Math.round(t)));
      return d.kind === 'float' && d.log ? Math.min(d.high, Math.max(d.low, Math.exp(t))) : t;
    },
  };
}

/** Each observation's kernel puts 1 + w/K on its own category and w/K on every category (then normalized); the prior is uniform. */
function choiceKernels(d: Extract<DimSpec, { kind: 'choice' }>, obs: readonly ParamValue[], priorWeight: number): DimKernels {
  const k = d.values.length;
  const base = priorWeight / k;
  const own = obs.map((v) => d.values.indexOf(v));
  const logOwn = Math.log((1 + base) / (1 + priorWeight));
  const logOther = Math.log(base / (1 + priorWeight));
  const logUniform = -Math.log(k);
  return {
    logK(c, x) {
      if (c >= own.length) return logUniform;
      return d.values.indexOf(x) === own[c] ? logOwn : logOther;
    },
    sample(c, rng) {
      if (c >= own.length) return d.values[rng.int(k)] as ParamValue;
      const pOwn = (1 + base) / (1 + priorWeight);
      const u = rng.next();
      if (u < pOwn) return d.values[own[c]!] as ParamValue;
      // Uniform over the other categories (each base / (1 + w)).
      const j = Math.min(k - 2, Math.floor(((u - pOwn) / (1 - pOwn)) * (k - 1)));
      return d.values[j >= own[c]! ? j + 1 : j] as ParamValue;
    },
  };
}

function kernelsFor(d: DimSpec, obs: readonly ParamValue[], opts: TpeOptions, nDims: number): DimKernels {
  return d.kind === 'choice' ? choiceKernels(d, obs, opts.priorWeight) : numericKernels(d, obs as number[], opts.multivariate ? 'scott' : 'neighbor', nDims);
}

/** Mixture weights: 1 per observation, the prior weight for the prior (last). */
function logWeights(n: number, priorWeight: number): number[] {
  const total = n + priorWeight;
  return Array.from({ length: n + 1 }, (_, c) => Math.log((c < n ? 1 : priorWeight) / total));
}

function pickComponent(logW: readonly number[], rng: Rng): number {
  let u = rng.next();
  for (let c = 0; c < logW.length; c++) {
    u -= Math.exp(logW[c]!);
    if (u < 0) return c;
  }
  return logW.length - 1;
}

function mixtureLogDensity(kernels: readonly DimKernels[], logW: readonly number[], x: readonly ParamValue[]): number {
  return logSumExp(logW.map((lw, c) => kernels.reduce((s, k, j) => s + k.logK(c, x[j] as ParamValue), lw)));
}

// ---------------------------------------------------------------------------------------------
// Suggestion

/** Univariate: per dimension, candidates from l_d and the best l_d/g_d, independently. */
function sampleUnivariate(dims: readonly DimSpec[], good: readonly TrialParams[], bad: readonly TrialParams[], rng: Rng, opts: TpeOptions): TrialParams {
  const out: TrialParams = {};
  for (const d of dims) {
    if (d.kind === 'choice' ? d.values.length === 1 : d.low === d.high) {
      out[d.name] = d.kind === 'choice' ? (d.values[0] as ParamValue) : d.low;
      continue;
    }
    const pick = (group: readonly TrialParams[]) => group.map((p) => p[d.name]).filter((v): v is ParamValue => inDimension(d, v));
    const goodObs = pick(good);
    const badObs = pick(bad);
    const l = [kernelsFor(d, goodObs, opts, 1)];
    const g = [kernelsFor(d, badObs, opts, 1)];
    const lw = logWeights(goodObs.length, opts.priorWeight);
    const gw = logWeights(badObs.length, opts.priorWeight);
    let best: ParamValue | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < opts.candidates; i++) {
      const x = l[0]!.sample(pickComponent(lw, rng), rng);
      const score = mixtureLogDensity(l, lw, [x]) - mixtureLogDensity(g, gw, [x]);
      if (best === undefined || score > bestScore) {
        best = x;
        bestScore = score;
      }
    }
    out[d.name] = best as ParamValue;
  }
  return out;
}

/** Multivariate: candidates drawn whole from l(x) = Σ_c w_c Π_d k_{c,d}(x_d); the best l(x)/g(x). */
function sampleMultivariate(dims: readonly DimSpec[], good: readonly TrialParams[], bad: readonly TrialParams[], rng: Rng, opts: TpeOptions): TrialParams {
  const valid = (p: TrialParams) => dims.every((d) => inDimension(d, p[d.name]));
  const goodObs = good.filter(valid);
  const badObs = bad.filter(valid);
  const l = dims.map((d) => kernelsFor(d, goodObs.map((p) => p[d.name] as ParamValue), opts, dims.length));
  const g = dims.map((d) => kernelsFor(d, badObs.map((p) => p[d.name] as ParamValue), opts, dims.length));
  const lw = logWeights(goodObs.length, opts.priorWeight);
  const gw = logWeights(badObs.length, opts.priorWeight);
  let best: ParamValue[] | undefined;
  let bestScore = -Infinity;
  for (let i = 0; i < opts.candidates; i++) {
    const c = pickComponent(lw, rng);
    const x = l.map((k) => k.sample(c, rng));
    const score = mixtureLogDensity(l, lw, x) - mixtureLogDensity(g, gw, x);
    if (best === undefined || score > bestScore) {
      best = x;
      bestScore = score;
    }
  }
  const out: TrialParams = {};
  dims.forEach((d, j) => (out[d.name] = (best as ParamValue[])[j] as ParamValue));
  return out;
}

/**
 * One configuration from the good and bad groups. Observations outside the space (history from an
 * earlier, different space) are ignored: per dimension (univariate) or whole (multivariate).
 */
export function tpeSample(dims: readonly DimSpec[], good: readonly TrialParams[], bad: readonly TrialParams[], rng: Rng, opts: TpeOptions): TrialParams {
  return opts.multivariate ? sampleMultivariate(dims, good, bad, rng, opts) : sampleUnivariate(dims, good, bad, rng, opts);
}
