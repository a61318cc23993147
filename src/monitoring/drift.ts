/**
 * Per-feature drift statistics between a reference sample (training / ingest data) and a current
 * sample (recent production data), numerically matched to SciPy:
 *
 * - `psi`: Population Stability Index over bins cut at the reference quantiles.
 * - `ksTwoSample`: two-sample Kolmogorov–Smirnov D and p-value (= scipy.stats.ks_2samp, two-sided).
 * - `jensenShannon`: Jensen–Shannon distance (= scipy.spatial.distance.jensenshannon).
 * - `chiSquaredCategorical`: chi-squared test of homogeneity on the 2×k table
 *   (= scipy.stats.chi2_contingency(correction=False)).
 * - `labelShift`: pooled two-proportion z-test on the positive rate.
 * - `featureDrift`: the driver over many features, with a verdict.
 *
 * Conventions shared by everything here:
 * - Numeric samples are `ArrayLike<number>` (a `Float64Array` is the fast path). Non-finite values
 *   (NaN, ±Infinity, and `null`/non-numbers in plain arrays) are missing and ignored.
 * - Reference-quantile bins (PSI, JS on numeric data, the report histograms): the cut points are
 *   the reference quantiles at levels i/bins, i = 1 … bins−1, computed like numpy's default
 *   `np.quantile(ref, q)` (method "linear": virtual index (n−1)·q, numpy's `_lerp`). Equal cut
 *   points are merged (discrete data), so there may be fewer than `bins` bins. Bins are closed on
 *   the right and open-ended at both extremes: (−∞, e₁], (e₁, e₂], …, (e_k, +∞); a value's bin is
 *   the number of cut points strictly below it (`np.searchsorted(edges, x, side='left')`).
 * - PSI = Σ (c − r)·ln(c / r) over bins, with r, c the reference/current proportions; a bin that
 *   is empty on one side gets the proportion `PSI_EPSILON` = 1e-6 on that side instead of 0
 *   (other proportions are left as they are, not renormalised).
 *
 * Large samples are never sorted whole: a numeric feature costs two linear passes over each
 * sample (bucket counts, then gathering the few buckets that matter), and is exact — the same
 * edges, counts and KS statistic as sorting both samples (see `bucketAnalyze`).
 */

// =============================================================================================
// Types
// =============================================================================================

export type DriftMethod = 'psi' | 'ks' | 'js' | 'chi2';
export type CategoricalDriftMethod = 'chi2' | 'js';
export type DriftVerdict = 'drift' | 'no_drift' | 'insufficient_data';
export type FeatureKind = 'numeric' | 'categorical';

/** Category → count. Counts must be finite and ≥ 0. */
export type CategoryCounts = Readonly<Record<string, number>> | ReadonlyMap<string, number>;

/**
 * One feature's values: numbers (typed array or array), raw categorical values (strings or
 * booleans; `null`/`undefined` are missing) or already-counted categories.
 */
export type FeatureValues = ArrayLike<number> | readonly (string | number | boolean | null | undefined)[] | CategoryCounts;

/** The smallest proportion a PSI bin gets when it is empty on one side (see the module doc). */
export const PSI_EPSILON = 1e-6;

/** Default bins (deciles) for PSI and for the numeric JS distance. */
export const DEFAULT_BINS = 10;

/**
 * Default thresholds. PSI and JS are distances: drift when value > threshold (0.2 is the usual
 * "significant shift" PSI level; 0.1 for the base-2 JS distance). KS and chi2 are tests: the
 * threshold is the significance level, drift when p-value < threshold.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = { psi: 0.2, js: 0.1, ks: 0.05, chi2: 0.05 };

const IS_TEST: Readonly<Record<DriftMethod, boolean>> = { psi: false, js: false, ks: true, chi2: true };

// =============================================================================================
// Special functions: log-gamma, regularized incomplete gamma, chi-squared and normal tails
// =============================================================================================

const LN_2PI = 1.8378770664093453; // ln(2π)
const LN_SQRT_2PI = 0.9189385332046728; // ln(√(2π))

/** ln Γ(x) for x > 0, to about 1e-15 relative: Stirling's series at x ≥ 10, recurrence below. */
export function lnGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  let shift = 0;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const r = 1 / x;
  const r2 = r * r;
  // 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + 1/(1188x⁹) − 691/(360360x¹¹) + 1/(156x¹³)
  const series = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))));
  return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + series - shift;
}

/** Stirling-series remainder lnΓ(a) − [(a − ½)ln a − a + ½ln 2π], for a ≥ 10. */
function stirlingRemainder(a: number): number {
  const r = 1 / a;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))));
}

/** log(1 + u) − u without cancellation for small u. */
function log1pmx(u: number): number {
  if (Math.abs(u) < 0.25) {
    // −u²/2 + u³/3 − u⁴/4 + …
    let term = u;
    let sum = 0;
    for (let k = 2; k < 200; k++) {
      term *= -u;
      const next = sum + term / k;
      if (next === sum) break;
      sum = next;
    }
    return sum;
  }
  return Math.log1p(u) - u;
}

/** ln(xᵃ e⁻ˣ / Γ(a)), the prefactor of both incomplete-gamma expansions. */
function gammaPrefactorLog(a: number, x: number): number {
  if (a < 10) return a * Math.log(x) - x - lnGamma(a);
  // a·[ln(1+u) − u] + ½ ln(a / 2π) − S(a), u = (x − a)/a: no large terms cancel.
  return a * log1pmx((x - a) / a) + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingRemainder(a);
}

/**
 * Regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 − P: the power series below
 * x < a + 1, the continued fraction (modified Lentz) above, each to full double precision.
 */
export function regularizedGamma(a: number, x: number): { p: number; q: number } {
  if (!(a > 0) || Number.isNaN(x)) return { p: NaN, q: NaN };
  if (x <= 0) return { p: 0, q: 1 };
  if (x === Infinity) return { p: 1, q: 0 };
  const logPre = gammaPrefactorLog(a, x);
  if (x < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let i = 0; i < 100_000; i++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-17) break;
    }
    const p = Math.min(1, sum * Math.exp(logPre));
    return { p, q: 1 - p };
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 4e-16) break; // within 2 ulps of 1: converged
  }
  const q = Math.min(1, Math.exp(logPre) * h);
  return { p: 1 - q, q };
}

/** Survival function of the chi-squared distribution with `dof` degrees of freedom (scipy chi2.sf). */
export function chiSquaredSf(x: number, dof: number): number {
  if (Number.isNaN(x) || !(dof > 0)) return NaN;
  return regularizedGamma(dof / 2, x / 2).q;
}

/** Two-sided normal tail 2·(1 − Φ(|z|)) = erfc(|z|/√2) = Q(½, z²/2). */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return regularizedGamma(0.5, (z * z) / 2).q;
}

// =============================================================================================
// The Kolmogorov distribution of D_n (scipy.stats.kstwo), ported from scipy/stats/_ksstats.py
// (Simard & L'Ecuyer's choice of algorithm by region) and the one-sided Smirnov sum.
// =============================================================================================

const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const MINLOG = -708.3964185322641; // cephes: ln(2^-1022)

/** x · 2^e without intermediate overflow/underflow of 2^e. */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);

/** ln(n! / nⁿ) by Stirling (scipy `_log_nfactorial_div_n_pow_n`). */
function logNFactorialDivNPowN(n: number): number {
  const coeffs = [
    -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4,
    7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
  ];
  const rn = 1 / n;
  const y = rn / n;
  let poly = 0;
  for (const c of coeffs) poly = poly * y + c;
  return Math.log(n) / 2 - n + LN_2PI / 2 + rn * poly;
}

/** Pr(D_n ≤ d): Durbin's matrix algorithm as improved by Marsaglia, Tsang & Wang. */
function kolmogornDMTW(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1]! *= fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  const matmul = (A: Float64Array, B: Float64Array): Float64Array => {
    const C = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        const a = A[i * m + l]!;
        if (a === 0) continue;
        for (let j = 0; j < m; j++) C[i * m + j]! += a * B[l * m + j]!;
      }
    }
    return C;
  };
  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H);
      expnt += Hexpnt;
    }
    H = matmul(H, H);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i]! /= TWO_128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = Hpwr[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return clip01(p);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Python slice bounds for a[start:stop] on an array of length len. */
function pySlice(len: number, start: number, stop: number): [number, number] {
  const s = start < 0 ? Math.max(0, len + start) : Math.min(start, len);
  const e = stop < 0 ? Math.max(0, len + stop) : Math.min(stop, len);
  return [s, Math.max(s, e)];
}

/** Pr(D_n ≤ x) by Pomeranz's recursion. */
function kolmogornPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const [aStart, aEnd] = pySlice(npwrs, k1 - V0s, k1 - V0s + ln2);
      const [, be] = pySlice(npwrs, 0, ln2);
      const la = aEnd - aStart;
      const lb = be;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      // V1[:convLen] = convolve(a, b)[convStart : convStart + convLen]
      let maxV = -Infinity;
      for (let o = 0; o < convLen; o++) {
        const kk = convStart + o;
        let s = 0;
        const lo = Math.max(0, kk - lb + 1);
        const hi = Math.min(kk, la - 1);
        for (let q = lo; q <= hi; q++) s += V0[aStart + q]! * pwrs[kk - q]!;
        V1[o] = s;
      }
      for (let o = 0; o < npwrs; o++) if (V1[o]! > maxV) maxV = V1[o]!;
      if (maxV > 0 && maxV < TWO_M128) {
        for (let o = 0; o < npwrs; o++) V1[o]! *= TWO_128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > TWO_128) {
      ans *= TWO_M128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/** Pelz–Good asymptotic approximation of Pr(D_n ≤ x). */
function kolmogornPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qpower + coeffs[i]!;
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT_2PI) / div[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k > 0; k--) {
    const ksq = k ** 2;
    const qp = q ** ksq;
    k2extra += ksq * qp;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2]! += (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3]! += (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / (n * 1.0) ** (i / 2);
  return sum;
}

// --- The one-sided Smirnov distribution, Pr(D⁺_n ≥ x) (scipy.special.smirnov) ---------------

/** stirlerr(n) = ln n! − [(n + ½) ln n − n + ½ ln 2π], exact for integers 0 … 15. */
const STIRLERR_SMALL = [
  0, 0.08106146679532725821967, 0.04134069595540929409382, 0.02767792568499833914879, 0.02079067210376509311152, 0.01664469118982119216319,
  0.01387612882307074799875, 0.01189670994589177009506, 0.01041126526197209649748, 0.009255462182712732917729, 0.008330563433362871256469,
  0.007573675487951840794972, 0.006942840107209529865664, 0.00640899418800420706844, 0.005951370112758847735624, 0.005554733551962801371039,
];

/** Loader's stirlerr for integer n ≥ 1. */
function stirlerr(n: number): number {
  if (n <= 15) return STIRLERR_SMALL[n]!;
  const nn = n * n;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** Loader's deviance term bd0(x, np) = x ln(x/np) + np − x, without cancellation. */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

/**
 * ln of the v-th Birnbaum–Tingey term  C(n,v)·(x + v/n)^(v−1)·(1 − x − v/n)^(n−v), written as
 * dbinom(v; n, a)/a with a = x + v/n (Loader's saddle-point form, accurate for any n).
 */
function smirnovLogTerm(n: number, v: number, x: number, nx: number): number {
  const np = v + nx; // n·a
  const nq = n - v - nx; // n·(1 − a)
  if (v === 0) return n * Math.log1p(-x) - Math.log(x);
  const lc = stirlerr(n) - stirlerr(v) - stirlerr(n - v) - bd0(v, np) - bd0(n - v, nq);
  const lf = LN_2PI + Math.log(v) + Math.log1p(-v / n);
  return lc - 0.5 * lf - Math.log(np / n);
}

/**
 * Pr(D⁺_n ≥ x), the one-sided Smirnov survival function (scipy.special.smirnov). `step` forces
 * the summation step (1 = every term); for tests.
 */
export function smirnovSf(n: number, x: number, step?: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxfl = Math.floor(nx);
  if (nxfl === 0 || (nxfl === 1 && nx === 1)) return 1 - x * (1 + x) ** (n - 1);
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return (1 - x) ** n;
  if (n > 1_000_000) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  // x · Σ_{v=0}^{vmax} term(v): the terms are unimodal in v; find the peak, then sum outwards
  // until they fall 50 nats below it.
  const vmax = n - nxfl - 1;
  let lo = 0;
  let hi = vmax;
  while (hi - lo > 2) {
    const m1 = lo + Math.floor((hi - lo) / 3);
    const m2 = hi - Math.floor((hi - lo) / 3);
    if (smirnovLogTerm(n, m1, x, nx) < smirnovLogTerm(n, m2, x, nx)) lo = m1 + 1;
    else hi = m2 - 1;
  }
  let peak = lo;
  let peakLog = smirnovLogTerm(n, lo, x, nx);
  for (let v = lo + 1; v <= hi; v++) {
    const l = smirnovLogTerm(n, v, x, nx);
    if (l > peakLog) {
      peakLog = l;
      peak = v;
    }
  }
  // The terms are a smooth bell of width σ (≈ √n/(4x) terms for small x). Summing every h-th term
  // times h equals the full sum up to ~exp(−2π²σ²/h²) relative (Poisson summation), i.e. exactly
  // in double precision for h ≤ σ/8; that turns ~n evaluations into ~150. Used only when the bell
  // has decayed by 50 nats inside [0, vmax] on both sides (no truncation at the range ends).
  const h = step === undefined ? smirnovStep(n, x, nx, peak, peakLog, vmax) : step;
  let sum = 1;
  for (let v = peak + h; v <= vmax; v += h) {
    const d = smirnovLogTerm(n, v, x, nx) - peakLog;
    if (d < -50) break;
    sum += Math.exp(d);
  }
  for (let v = peak - h; v >= 0; v -= h) {
    const d = smirnovLogTerm(n, v, x, nx) - peakLog;
    if (d < -50) break;
    sum += Math.exp(d);
  }
  return clip01(x * Math.exp(peakLog) * sum * h);
}

/** Step for `smirnovSf`'s subsampled sum: ⌊σ/8⌋ from the half-widths of the bell, 1 when in doubt. */
function smirnovStep(n: number, x: number, nx: number, peak: number, peakLog: number, vmax: number): number {
  // Distance from the peak at which the log-term has dropped by `drop` nats (exponential + binary search).
  const reach = (dir: 1 | -1, drop: number): number | null => {
    const limit = dir > 0 ? vmax - peak : peak;
    let lo = 0;
    let hi = 1;
    while (hi <= limit && smirnovLogTerm(n, peak + dir * hi, x, nx) - peakLog > -drop) {
      lo = hi;
      hi *= 2;
    }
    if (hi > limit) {
      if (limit === 0 || smirnovLogTerm(n, peak + dir * limit, x, nx) - peakLog > -drop) return null;
      hi = limit;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (smirnovLogTerm(n, peak + dir * mid, x, nx) - peakLog > -drop) lo = mid;
      else hi = mid;
    }
    return hi;
  };
  const right = reach(1, 0.5);
  const left = reach(-1, 0.5);
  const right50 = reach(1, 50);
  const left50 = reach(-1, 50);
  if (right === null || left === null || right50 === null || left50 === null) return 1;
  const sigma = Math.min(right, left); // a drop of ½ nat ≈ one standard deviation
  // The factors of a term are singular at v = 0 and v = n − nx: keep the step far below the
  // distance from the summed range to them, so the summand stays smooth on the step's scale.
  const clearance = Math.min(peak - left50, n - nx - (peak + right50));
  return Math.max(1, Math.floor(Math.min(sigma / 8, clearance / 40)));
}

/** Survival function of the two-sided one-sample KS statistic D_n: scipy.stats.kstwo.sf(x, n). */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - kolmogornDMTW(n, x));
    if (nxsquared <= 4) return clip01(1 - kolmogornPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? kolmogornDMTW(n, x) : kolmogornPelzGood(n, x);
  return clip01(1 - cdf);
}

// =============================================================================================
// Exact two-sample KS p-values (scipy ks_2samp method='exact', two-sided)
// =============================================================================================

/** Pr(D_{n,n} ≥ h/n) (scipy `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** 1 − proportion of lattice paths staying strictly inside |x/m − y/n| < h/lcm (scipy, Viehmann's recursion). */
function outerProbInsideMethod(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < Math.min(maxj, lenA); j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const end = Math.min(maxj - minj + (lastlen - curlen), lenA);
      for (let q = maxj - minj; q < end; q++) A[q] = 1;
    }
  }
  return A[maxj - minj - 1]!;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy's round-half-to-even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export type KsMethod = 'auto' | 'exact' | 'asymp';

/**
 * The two-sided p-value of a two-sample KS statistic `d` for sample sizes n1, n2, as
 * scipy.stats.ks_2samp: 'exact' counts lattice paths (falls back to 'asymp' when that fails);
 * 'asymp' is kstwo.sf(d, round(n·m/(n+m))); 'auto' (scipy's default) is exact when both samples
 * have at most 10,000 values. Returns the statistic as scipy reports it (exact mode rounds D to
 * a multiple of 1/lcm(n1, n2)).
 */
export function ksPValue(d: number, n1: number, n2: number, method: KsMethod = 'auto'): { statistic: number; pValue: number; method: 'exact' | 'asymp' } {
  let mode: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= 10_000 ? 'exact' : 'asymp') : method;
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  if (method === 'exact' && n1g >= 2147483647 / n2g) mode = 'asymp';
  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = Math.round(d * lcm); // scipy: int(np.round(d * lcm)); d·lcm is never exactly .5 off an integer here
    const dExact = h / lcm;
    if (h === 0) return { statistic: dExact, pValue: 1, method: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: dExact, pValue: prob, method: 'exact' };
    mode = 'asymp';
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clip01(kolmogorovSf(roundHalfEven(en), d)), method: 'asymp' };
}

// =============================================================================================
// Numeric samples: quantile edges, bin counts and the KS statistic in two linear passes
// =============================================================================================

/** A Float64Array view of `values`; plain arrays are copied with non-numbers as NaN. */
export function toFloat64(values: ArrayLike<number>): Float64Array {
  if (values instanceof Float64Array) return values;
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as unknown;
    out[i] = typeof v === 'number' ? v : NaN;
  }
  return out;
}

function finiteSorted(a: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! === 0) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x === 0) out[j++] = x;
  }
  return out.sort();
}

/** numpy's `_lerp`: a + (b − a)·t, computed from the nearer end. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Virtual index (n−1)·q → (previous index, next index, gamma), as numpy's 'linear' quantile. */
function quantileIndex(n: number, q: number): [number, number, number] {
  const vi = (n - 1) * q;
  if (vi >= n - 1) return [n - 1, n - 1, vi - Math.floor(vi)];
  const prev = Math.floor(vi);
  return [prev, prev + 1, vi - prev];
}

/** Cut points at the reference quantiles i/bins (i = 1 … bins−1), equal ones merged. */
function edgesFromOrderStats(n: number, bins: number, at: (rank: number) => number): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const [p, nx, gamma] = quantileIndex(n, i / bins);
    const e = lerp(at(p), at(nx), gamma);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

/**
 * The reference-quantile cut points of `reference` (see the module doc): `bins − 1` quantiles,
 * equal ones merged. Empty when the sample has no finite values.
 */
export function quantileEdges(reference: ArrayLike<number>, bins = DEFAULT_BINS): number[] {
  const sorted = finiteSorted(toFloat64(reference));
  if (sorted.length === 0) return [];
  return edgesFromOrderStats(sorted.length, bins, (r) => sorted[r]!);
}

/** Index of the first element of sorted `a` that is > x (count of elements ≤ x). */
function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of sorted `a` that is ≥ x (count of elements < x). */
function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts of `values` in the bins cut at `edges` (edges.length + 1 bins, right-closed, open-ended):
 * one binary search over the edges per value. Non-finite values are skipped.
 */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const a = toFloat64(values);
  const e = Float64Array.from(edges);
  const counts = new Float64Array(e.length + 1);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) continue;
    counts[lowerBound(e, x)]!++;
  }
  return counts;
}

export interface NumericAnalysis {
  /** Finite values in each sample. */
  nReference: number;
  nCurrent: number;
  /** Reference-quantile cut points (empty when bins were not asked for or the reference is empty). */
  edges: number[];
  /** Per-bin counts, edges.length + 1 entries (empty when bins were not asked for). */
  referenceCounts: number[];
  currentCounts: number[];
  /** Two-sample KS D (null when not asked for or a sample is empty). */
  ks: number | null;
}

export interface AnalyzeOptions {
  /** Quantile bins for PSI/JS/histograms; 0 = none. */
  bins: number;
  ks: boolean;
  /**
   * 'sort' sorts both samples; 'bucket' never sorts them whole (two linear passes per sample);
   * 'auto' (default) buckets once the samples hold 40,000 values together. Both are exact and
   * give identical results; the choice is exposed for tests.
   */
  engine?: 'auto' | 'sort' | 'bucket';
  /** Buckets of the 'bucket' engine (default: up to 65,536). For tests. */
  buckets?: number;
}

const BUCKET_ENGINE_MIN = 40_000;

/**
 * Everything numeric drift needs from one (reference, current) pair: the reference-quantile bin
 * edges, both samples' bin counts and the KS statistic.
 */
export function analyzeNumeric(reference: ArrayLike<number>, current: ArrayLike<number>, options: AnalyzeOptions): NumericAnalysis {
  const ref = toFloat64(reference);
  const cur = toFloat64(current);
  const engine = options.engine ?? 'auto';
  if (engine === 'bucket' || (engine === 'auto' && ref.length + cur.length >= BUCKET_ENGINE_MIN)) {
    const buckets = Math.max(1, (options.buckets ?? Math.min(65_536, Math.max(16, 2 ** Math.ceil(Math.log2((ref.length + cur.length) / 16))))) | 0);
    const out = bucketAnalyze(ref, cur, options.bins, options.ks, buckets);
    if (out) return out;
  }
  return sortAnalyze(ref, cur, options.bins, options.ks);
}

function countsAtEdges(sorted: Float64Array, edges: readonly number[]): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const le = upperBound(sorted, e);
    counts.push(le - prev);
    prev = le;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Max |F_ref − F_cur| over the data points, exactly as scipy computes it. */
function ksSorted(r: Float64Array, c: Float64Array): number {
  const n = r.length;
  const m = c.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const ri = r[i]!;
    const cj = c[j]!;
    const v = ri <= cj ? ri : cj;
    while (i < n && r[i]! <= v) i++;
    while (j < m && c[j]! <= v) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  return d;
}

function sortAnalyze(ref: Float64Array, cur: Float64Array, bins: number, wantKs: boolean): NumericAnalysis {
  const r = finiteSorted(ref);
  const c = finiteSorted(cur);
  const edges = bins > 0 && r.length > 0 ? edgesFromOrderStats(r.length, bins, (k) => r[k]!) : [];
  return {
    nReference: r.length,
    nCurrent: c.length,
    edges,
    referenceCounts: bins > 0 && r.length > 0 ? countsAtEdges(r, edges) : [],
    currentCounts: bins > 0 && r.length > 0 ? countsAtEdges(c, edges) : [],
    ks: wantKs && r.length > 0 && c.length > 0 ? ksSorted(r, c) : null,
  };
}

/**
 * The bucket engine. Values fall into B equal-width buckets over a range taken from a strided
 * sample of both inputs, plus one open bucket below and one above it; the bucket index is
 * monotone in the value, so every value of a higher bucket is strictly greater.
 *
 * 1. Count pass: per-bucket counts of both samples. The ECDFs at bucket boundaries are then exact,
 *    so the largest boundary difference is a lower bound on D; within a bucket the difference
 *    cannot exceed max(R₁/n − C₀/m, C₁/m − R₀/n), so only buckets whose bound beats the lower
 *    bound can hold D ("candidates", a handful for continuous data).
 * 2. Gather pass: copy out the values of the candidate buckets and of the buckets holding the
 *    reference order statistics the quantile edges need (and, for the current sample, every
 *    bucket an edge can fall in).
 * 3. Edges from the order statistics (their buckets sorted); bin counts = boundary cumulative
 *    counts + a binary search in the edge's bucket. D = the boundary maximum, raised by refining
 *    the candidates (`ksRefine`: sort-and-merge small buckets, split large ones again).
 * Returns null (use the sort engine) when no usable range exists.
 */
function bucketAnalyze(ref: Float64Array, cur: Float64Array, bins: number, wantKs: boolean, B: number): NumericAnalysis | null {
  const range = sampleRange(ref, cur);
  if (!range) return null;
  const { lo, hi } = range;
  const span = hi - lo;
  if (!(span < Infinity)) return null;
  const scale = span > 0 ? B / span : 0;
  if (!Number.isFinite(scale)) return null;
  const NB = B + 2;
  const refHist = new Int32Array(NB);
  const curHist = new Int32Array(NB);
  const nRef = countPass(ref, lo, hi, scale, B, refHist);
  const nCur = countPass(cur, lo, hi, scale, B, curHist);
  const bucketOf = (x: number): number => {
    if (x < lo) return 0;
    if (x > hi) return B + 1;
    const t = (x - lo) * scale;
    return t < B ? (t | 0) + 1 : B;
  };
  // cum[b] = values in buckets < b
  const refCum = new Float64Array(NB + 1);
  const curCum = new Float64Array(NB + 1);
  for (let b = 0; b < NB; b++) {
    refCum[b + 1] = refCum[b]! + refHist[b]!;
    curCum[b + 1] = curCum[b]! + curHist[b]!;
  }
  const bucketOfRank = (rank: number): number => upperBound(refCum, rank, 1, NB + 1) - 1;
  const refNeed = new Uint8Array(NB);
  const curNeed = new Uint8Array(NB);

  // Buckets for the quantile edges.
  const wantBins = bins > 0 && nRef > 0;
  if (wantBins) {
    for (let i = 1; i < bins; i++) {
      const [p, nx] = quantileIndex(nRef, i / bins);
      const b0 = bucketOfRank(p);
      const b1 = bucketOfRank(nx);
      for (let b = b0; b <= b1; b++) {
        refNeed[b] = 1;
        curNeed[b] = 1;
      }
    }
  }

  // KS candidates.
  const doKs = wantKs && nRef > 0 && nCur > 0;
  const candidate = new Uint8Array(doKs ? NB : 0);
  let dlb = 0;
  if (doKs) {
    for (let b = 0; b < NB; b++) {
      if (refHist[b]! + curHist[b]! === 0) continue;
      const d = Math.abs(refCum[b + 1]! / nRef - curCum[b + 1]! / nCur);
      if (d > dlb) dlb = d;
    }
    for (let b = 0; b < NB; b++) {
      if (refHist[b]! === 0 || curHist[b]! === 0) continue; // one-sided buckets peak at a boundary
      const bound = Math.max(refCum[b + 1]! / nRef - curCum[b]! / nCur, curCum[b + 1]! / nCur - refCum[b]! / nRef);
      if (bound > dlb) {
        candidate[b] = 1;
        refNeed[b] = 1;
        curNeed[b] = 1;
      }
    }
  }

  const refSeg = new Map<number, Float64Array>();
  const curSeg = new Map<number, Float64Array>();
  gatherPass(ref, lo, hi, scale, B, refNeed, refHist, refSeg);
  gatherPass(cur, lo, hi, scale, B, curNeed, curHist, curSeg);

  // Segments are gathered unsorted; the edge computations sort the ones they read, once.
  const refSorted = new Set<number>();
  const curSorted = new Set<number>();
  const sortedSegment = (seg: Map<number, Float64Array>, done: Set<number>, b: number): Float64Array | undefined => {
    const s = seg.get(b);
    if (s && !done.has(b)) {
      sortIfNeeded(s);
      done.add(b);
    }
    return s;
  };

  let edges: number[] = [];
  let referenceCounts: number[] = [];
  let currentCounts: number[] = [];
  if (wantBins) {
    edges = edgesFromOrderStats(nRef, bins, (rank) => {
      const b = bucketOfRank(rank);
      return sortedSegment(refSeg, refSorted, b)![rank - refCum[b]!]!;
    });
    // An edge interpolated between two order statistics lies in one of the buckets flagged
    // above; make sure (floating point) and gather any bucket that is missing.
    const edgeBuckets = edges.map(bucketOf);
    const refExtra = new Uint8Array(NB);
    const curExtra = new Uint8Array(NB);
    let refMore = false;
    let curMore = false;
    for (const b of edgeBuckets) {
      if (refHist[b]! > 0 && !refSeg.has(b)) {
        refExtra[b] = 1;
        refMore = true;
      }
      if (curHist[b]! > 0 && !curSeg.has(b)) {
        curExtra[b] = 1;
        curMore = true;
      }
    }
    if (refMore) gatherPass(ref, lo, hi, scale, B, refExtra, refHist, refSeg);
    if (curMore) gatherPass(cur, lo, hi, scale, B, curExtra, curHist, curSeg);
    const le = (cum: Float64Array, seg: Map<number, Float64Array>, done: Set<number>, e: number, b: number): number => {
      const s = sortedSegment(seg, done, b);
      return cum[b]! + (s ? upperBound(s, e) : 0);
    };
    const refLe = edges.map((e, k) => le(refCum, refSeg, refSorted, e, edgeBuckets[k]!));
    const curLe = edges.map((e, k) => le(curCum, curSeg, curSorted, e, edgeBuckets[k]!));
    referenceCounts = diffCounts(refLe, nRef);
    currentCounts = diffCounts(curLe, nCur);
  }

  let ks: number | null = null;
  if (doKs) {
    // Start from the boundary maximum (a value D attains) and refine the candidates in order,
    // skipping those whose bound the refinements so far have already beaten.
    let d = dlb;
    for (let b = 0; b < NB; b++) {
      if (!candidate[b]) continue;
      const bound = Math.max(refCum[b + 1]! / nRef - curCum[b]! / nCur, curCum[b + 1]! / nCur - refCum[b]! / nRef);
      if (bound > d) d = ksRefine(refSeg.get(b)!, curSeg.get(b)!, refCum[b]!, curCum[b]!, nRef, nCur, d, 0);
    }
    ks = d;
  }
  return { nReference: nRef, nCurrent: nCur, edges, referenceCounts, currentCounts, ks };
}

function diffCounts(le: readonly number[], n: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const c of le) {
    out.push(c - prev);
    prev = c;
  }
  out.push(n - prev);
  return out;
}

/**
 * Range for the buckets: the 1% and 99% points of an evenly strided sample of both inputs. The
 * ~1% beyond each end lands in the two open buckets (refined like any other when needed); a
 * range spanning the far tails would leave the bulk of heavy-tailed data too few buckets.
 */
function sampleRange(ref: Float64Array, cur: Float64Array): { lo: number; hi: number } | null {
  const sample: number[] = [];
  for (const a of [ref, cur]) {
    const step = Math.max(1, Math.floor(a.length / 2048));
    for (let i = 0; i < a.length; i += step) {
      const x = a[i]!;
      if (x - x === 0) sample.push(x);
    }
  }
  if (sample.length === 0) return null;
  sample.sort((x, y) => x - y);
  const L = sample.length - 1;
  return { lo: sample[Math.floor(0.01 * L)]!, hi: sample[Math.ceil(0.99 * L)]! };
}

function countPass(a: Float64Array, lo: number, hi: number, scale: number, B: number, hist: Int32Array): number {
  let skipped = 0;
  const len = a.length;
  const top = B + 1;
  for (let i = 0; i < len; i++) {
    const x = a[i]!;
    let b: number;
    if (x >= lo && x <= hi) {
      const t = (x - lo) * scale;
      b = t < B ? (t | 0) + 1 : B;
    } else if (x < lo && x !== -Infinity) b = 0;
    else if (x > hi && x !== Infinity) b = top;
    else {
      skipped++; // NaN, ±Infinity
      continue;
    }
    hist[b]!++;
  }
  return len - skipped;
}

/** Copies the values of the flagged buckets into one sorted segment per bucket. */
function gatherPass(a: Float64Array, lo: number, hi: number, scale: number, B: number, need: Uint8Array, hist: Int32Array, into: Map<number, Float64Array>): void {
  const NB = B + 2;
  const start = new Int32Array(NB);
  let total = 0;
  for (let b = 0; b < NB; b++) {
    if (need[b] && hist[b]! > 0) {
      start[b] = total;
      total += hist[b]!;
    } else need[b] = 0;
  }
  if (total === 0) return;
  const values = new Float64Array(total);
  const pos = start.slice();
  let found = 0;
  const len = a.length;
  const top = B + 1;
  for (let i = 0; i < len && found < total; i++) {
    const x = a[i]!;
    let b: number;
    if (x >= lo && x <= hi) {
      const t = (x - lo) * scale;
      b = t < B ? (t | 0) + 1 : B;
    } else if (x < lo && x !== -Infinity) b = 0;
    else if (x > hi && x !== Infinity) b = top;
    else continue;
    if (need[b]) {
      values[pos[b]!++] = x;
      found++;
    }
  }
  for (let b = 0; b < NB; b++) {
    if (need[b]) into.set(b, values.subarray(start[b], start[b]! + hist[b]!));
  }
}

/** Sorts in place unless all values are equal (dense buckets of discrete data often are). */
function sortIfNeeded(s: Float64Array): void {
  const first = s[0];
  let i = 1;
  while (i < s.length && s[i] === first) i++;
  if (i < s.length) s.sort();
}

const KS_SORT_MAX = 4096;
const KS_SUB_BUCKETS = 1024;

/**
 * The largest |F_ref(x) − F_cur(x)| over the data points x inside one bucket, given both samples'
 * values in it (any order) and the counts below it (R0, C0); `best` is the largest difference
 * known so far. Small buckets are sorted and merged. Larger ones are split again into equal-width
 * sub-buckets over their exact min/max, with the same boundary bound deciding which sub-buckets
 * to refine, so a dense bucket (a spike, a heavy tail's bulk) is never sorted whole; a bucket
 * holding a single distinct value is one point.
 */
function ksRefine(r: Float64Array, c: Float64Array, R0: number, C0: number, nRef: number, nCur: number, best: number, depth: number): number {
  const rn = r.length;
  const cn = c.length;
  const end = Math.abs((R0 + rn) / nRef - (C0 + cn) / nCur);
  if (rn === 0 || cn === 0) return Math.max(best, end);
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of [r, c]) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (lo === hi) return Math.max(best, end);
  const scale = KS_SUB_BUCKETS / (hi - lo);
  if (rn + cn <= KS_SORT_MAX || depth >= 8 || !(scale < Infinity)) {
    sortIfNeeded(r);
    sortIfNeeded(c);
    let i = 0;
    let j = 0;
    while (i < rn || j < cn) {
      const v = i < rn && (j >= cn || r[i]! <= c[j]!) ? r[i]! : c[j]!;
      while (i < rn && r[i]! <= v) i++;
      while (j < cn && c[j]! <= v) j++;
      const diff = Math.abs((R0 + i) / nRef - (C0 + j) / nCur);
      if (diff > best) best = diff;
    }
    return best;
  }
  const B = KS_SUB_BUCKETS;
  const NB = B + 2;
  const rh = new Int32Array(NB);
  const ch = new Int32Array(NB);
  countPass(r, lo, hi, scale, B, rh);
  countPass(c, lo, hi, scale, B, ch);
  const rc = new Float64Array(NB + 1);
  const cc = new Float64Array(NB + 1);
  for (let b = 0; b < NB; b++) {
    rc[b + 1] = rc[b]! + rh[b]!;
    cc[b + 1] = cc[b]! + ch[b]!;
    if (rh[b]! + ch[b]! > 0) {
      const diff = Math.abs((R0 + rc[b + 1]!) / nRef - (C0 + cc[b + 1]!) / nCur);
      if (diff > best) best = diff;
    }
  }
  const bound = (b: number): number => Math.max((R0 + rc[b + 1]!) / nRef - (C0 + cc[b]!) / nCur, (C0 + cc[b + 1]!) / nCur - (R0 + rc[b]!) / nRef);
  const need = new Uint8Array(NB);
  let any = false;
  for (let b = 0; b < NB; b++) {
    if (rh[b]! > 0 && ch[b]! > 0 && bound(b) > best) {
      need[b] = 1;
      any = true;
    }
  }
  if (!any) return best;
  const rSeg = new Map<number, Float64Array>();
  const cSeg = new Map<number, Float64Array>();
  gatherPass(r, lo, hi, scale, B, need.slice(), rh, rSeg);
  gatherPass(c, lo, hi, scale, B, need, ch, cSeg);
  for (let b = 0; b < NB; b++) {
    if (need[b] && bound(b) > best) best = ksRefine(rSeg.get(b)!, cSeg.get(b)!, R0 + rc[b]!, C0 + cc[b]!, nRef, nCur, best, depth + 1);
  }
  return best;
}

// =============================================================================================
// PSI, KS, JS, chi-squared, label shift
// =============================================================================================

/** PSI from per-bin counts (or proportions) of the two samples; see the module doc for ε. */
function psiFromCounts(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>): number {
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < refCounts.length; i++) nr += refCounts[i]!;
  for (let i = 0; i < curCounts.length; i++) nc += curCounts[i]!;
  if (!(nr > 0) || !(nc > 0)) return NaN;
  let total = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = refCounts[i]! === 0 ? PSI_EPSILON : refCounts[i]! / nr;
    const c = curCounts[i]! === 0 ? PSI_EPSILON : curCounts[i]! / nc;
    total += (c - r) * Math.log(c / r);
  }
  return total;
}

/**
 * Population Stability Index of `current` against `reference` over `bins` reference-quantile bins
 * (default deciles; equal cut points merged). NaN when either sample has no finite values.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { bins?: number } = {}): number {
  const a = analyzeNumeric(reference, current, { bins: opts.bins ?? DEFAULT_BINS, ks: false });
  if (a.nReference === 0 || a.nCurrent === 0) return NaN;
  return psiFromCounts(a.referenceCounts, a.currentCounts);
}

/**
 * PSI from precomputed bins: `edges` (k cut points, e.g. `quantileEdges(reference)` stored with
 * the reference profile) and both samples' counts (or proportions) over the k + 1 bins (e.g.
 * `binCounts(current, edges)`).
 */
export function psiFromEdges(edges: readonly number[], refCounts: ArrayLike<number>, curCounts: ArrayLike<number>): number {
  if (refCounts.length !== edges.length + 1 || curCounts.length !== edges.length + 1) {
    throw new RangeError(`psiFromEdges: ${edges.length} edges need ${edges.length + 1} counts per sample, got ${refCounts.length} and ${curCounts.length}`);
  }
  return psiFromCounts(refCounts, curCounts);
}

export interface KsResult {
  /** sup |F_a − F_b| over the data. */
  statistic: number;
  pValue: number;
  /** How the p-value was computed. */
  method: 'exact' | 'asymp';
  n1: number;
  n2: number;
}

/**
 * Two-sample two-sided Kolmogorov–Smirnov test, as scipy.stats.ks_2samp(a, b, method=…). Ties
 * are handled exactly (the ECDFs are compared at every data point). Throws when a sample has no
 * finite values.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, opts: { method?: KsMethod } = {}): KsResult {
  const an = analyzeNumeric(a, b, { bins: 0, ks: true });
  if (an.nReference === 0 || an.nCurrent === 0 || an.ks === null) throw new RangeError('ksTwoSample: both samples need at least one finite value');
  const p = ksPValue(an.ks, an.nReference, an.nCurrent, opts.method ?? 'auto');
  return { statistic: p.statistic, pValue: p.pValue, method: p.method, n1: an.nReference, n2: an.nCurrent };
}

/**
 * Jensen–Shannon distance between two discrete distributions (normalised here; they may be
 * counts): √(½·KL(p‖m) + ½·KL(q‖m)) with m = (p + q)/2 and logarithms in `base`, as
 * scipy.spatial.distance.jensenshannon(p, q, base). 0 ≤ JS ≤ 1 for base 2.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, base = 2): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannon: lengths differ (${p.length} vs ${q.length})`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  // Same operation order as scipy: Σ rel_entr(p, m) + Σ rel_entr(q, m), / ln(base), √(· / 2).
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) left += pi * Math.log(pi / m);
    if (qi > 0) right += qi * Math.log(qi / m);
  }
  const js = (left + right) / Math.log(base);
  return Math.sqrt(Math.max(0, js / 2));
}

/** JS distance between two numeric samples over shared reference-quantile bins (default deciles). */
export function jensenShannonNumeric(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { bins?: number; base?: number } = {}): number {
  const a = analyzeNumeric(reference, current, { bins: opts.bins ?? DEFAULT_BINS, ks: false });
  if (a.nReference === 0 || a.nCurrent === 0) return NaN;
  return jensenShannon(a.referenceCounts, a.currentCounts, opts.base ?? 2);
}

/** Category → count as a Map (null-safe for any key, including "__proto__"). */
function countsMap(c: CategoryCounts): Map<string, number> {
  const entries = c instanceof Map ? [...(c as ReadonlyMap<string, number>)] : Object.entries(c as Record<string, number>);
  const out = new Map<string, number>();
  for (const [k, v] of entries) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new RangeError(`category "${k}": count must be a finite number >= 0, got ${String(v)}`);
    if (v > 0) out.set(k, (out.get(k) ?? 0) + v);
  }
  return out;
}

/** Aligned count vectors over the union of categories present on either side (sorted by name). */
function alignCategories(ref: CategoryCounts, cur: CategoryCounts): { categories: string[]; ref: number[]; cur: number[] } {
  const r = countsMap(ref);
  const c = countsMap(cur);
  const categories = [...new Set([...r.keys(), ...c.keys()])].sort();
  return { categories, ref: categories.map((k) => r.get(k) ?? 0), cur: categories.map((k) => c.get(k) ?? 0) };
}

/** JS distance between two categorical frequency maps (categories missing on one side count 0). */
export function jensenShannonCategorical(refCounts: CategoryCounts, curCounts: CategoryCounts, base = 2): number {
  const { ref, cur } = alignCategories(refCounts, curCounts);
  if (ref.length === 0) return NaN;
  return jensenShannon(ref, cur, base);
}

export interface ChiSquaredResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/** Pearson chi-squared test of homogeneity on the 2×k table whose rows are `a` and `b`. */
export function chiSquaredHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>): ChiSquaredResult {
  if (a.length !== b.length) throw new RangeError(`chiSquaredHomogeneity: lengths differ (${a.length} vs ${b.length})`);
  const cols: number[] = [];
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! + b[i]! > 0) cols.push(i);
    na += a[i]!;
    nb += b[i]!;
  }
  const total = na + nb;
  const dof = cols.length - 1;
  if (!(na > 0) || !(nb > 0) || dof <= 0) return { statistic: 0, dof: Math.max(0, dof), pValue: 1 };
  let stat = 0;
  for (const i of cols) {
    const col = a[i]! + b[i]!;
    const ea = (na * col) / total;
    const eb = (nb * col) / total;
    stat += (a[i]! - ea) ** 2 / ea + (b[i]! - eb) ** 2 / eb;
  }
  return { statistic: stat, dof, pValue: chiSquaredSf(stat, dof) };
}

/**
 * Chi-squared test of homogeneity of two categorical samples (counts per category), as
 * scipy.stats.chi2_contingency([ref, cur], correction=False) on the categories seen on either
 * side (categories absent from both are dropped — scipy would reject their zero expected
 * counts). dof = categories − 1; with a single category the test is degenerate: statistic 0, p 1.
 */
export function chiSquaredCategorical(refCounts: CategoryCounts, curCounts: CategoryCounts): ChiSquaredResult {
  const { ref, cur } = alignCategories(refCounts, curCounts);
  return chiSquaredHomogeneity(ref, cur);
}

export interface LabelShiftResult {
  /** current − reference positive rate. */
  difference: number;
  z: number;
  /** Two-sided p-value of the pooled two-proportion z-test. */
  pValue: number;
}

/**
 * Label shift: pooled two-proportion z-test of the positive rate, z = (p₂ − p₁)/√(p̂(1−p̂)(1/n₁ + 1/n₂))
 * with p̂ the pooled rate; two-sided p = erfc(|z|/√2). When p̂ is 0 or 1 both rates are equal: z 0, p 1.
 */
export function labelShift(refPositiveRate: number, curPositiveRate: number, nRef: number, nCur: number): LabelShiftResult {
  if (!(nRef > 0 && nCur > 0)) throw new RangeError('labelShift: sample sizes must be positive');
  for (const r of [refPositiveRate, curPositiveRate]) if (!(r >= 0 && r <= 1)) throw new RangeError(`labelShift: rate ${r} is not in [0, 1]`);
  const difference = curPositiveRate - refPositiveRate;
  const pooled = (refPositiveRate * nRef + curPositiveRate * nCur) / (nRef + nCur);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nRef + 1 / nCur));
  if (!(se > 0)) return { difference, z: 0, pValue: 1 };
  const z = difference / se;
  return { difference, z, pValue: normalTwoSidedP(z) };
}

/** Shift of the predicted-probability distribution: PSI (reference-quantile deciles) and KS. */
export function predictionShift(refPredictions: ArrayLike<number>, curPredictions: ArrayLike<number>, opts: { bins?: number; ksMethod?: KsMethod } = {}): { psi: number; ks: KsResult } {
  const a = analyzeNumeric(refPredictions, curPredictions, { bins: opts.bins ?? DEFAULT_BINS, ks: true });
  if (a.ks === null) throw new RangeError('predictionShift: both samples need at least one finite value');
  const p = ksPValue(a.ks, a.nReference, a.nCurrent, opts.ksMethod ?? 'auto');
  return {
    psi: psiFromCounts(a.referenceCounts, a.currentCounts),
    ks: { statistic: p.statistic, pValue: p.pValue, method: p.method, n1: a.nReference, n2: a.nCurrent },
  };
}

// =============================================================================================
// The driver
// =============================================================================================

export interface FeatureDriftOptions {
  /** Method for numeric features. 'chi2' on numeric data tests the reference-quantile bins. */
  method: DriftMethod;
  /** Threshold of `method` (see DEFAULT_THRESHOLDS for its meaning per method). */
  threshold: number;
  /** Per-feature thresholds, overriding `threshold` / `categoricalThreshold` for that feature. */
  perFeature?: Readonly<Record<string, number>>;
  /** Features with fewer non-missing values than this (in either sample) are `insufficient_data`. */
  minSamples: number;
  /** Categorical features use this whatever `method` says. Default 'chi2'. */
  categoricalMethod?: CategoricalDriftMethod;
  /**
   * Threshold for categorical features. Default: `threshold` when it means the same thing (same
   * method, or both significance levels), else DEFAULT_THRESHOLDS[categoricalMethod].
   */
  categoricalThreshold?: number;
  /** Quantile bins for numeric features (PSI, JS, binned chi2, report histograms). Default 10. */
  bins?: number;
  /** Extra numeric metrics. PSI, JS and binned chi2 are always reported (they are free); 'ks' costs a gather pass. */
  metrics?: readonly DriftMethod[];
  /** KS p-value method. Default 'auto' (scipy's). */
  ksMethod?: KsMethod;
  /** Force a feature's kind (e.g. integer-coded categories given as numbers). */
  kinds?: Readonly<Record<string, FeatureKind>>;
  /** Categories kept in a categorical histogram; the rest are summed as "(other)". Default 20. */
  histogramCategories?: number;
}

export interface DriftHistogram {
  /** Numeric features: the bin cut points (labels are derived from them). */
  edges?: number[];
  /** Categorical features: the category of each bar ("(other)" last when categories were cut). */
  labels?: string[];
  /** Proportions per bar. */
  reference: number[];
  current: number[];
}

export interface FeatureMetrics {
  psi?: number;
  js?: number;
  ks?: { statistic: number; pValue: number; method: 'exact' | 'asymp' };
  chi2?: ChiSquaredResult;
}

export interface FeatureDriftResult {
  feature: string;
  kind: FeatureKind;
  method: DriftMethod;
  /** The method's value (PSI, JS distance, KS D, chi2 statistic); null when not computed. */
  value: number | null;
  /** KS and chi2 only. */
  pValue?: number | null;
  threshold: number;
  drifted: boolean;
  status: DriftVerdict;
  /** Non-missing values in the current sample. */
  n: number;
  /** Non-missing values in the reference sample. */
  nReference: number;
  metrics: FeatureMetrics;
  histogram?: DriftHistogram;
}

export interface DriftReport {
  /** 'drift' when any feature drifted; 'insufficient_data' when no feature had enough data; else 'no_drift'. */
  verdict: DriftVerdict;
  method: DriftMethod;
  categoricalMethod: CategoricalDriftMethod;
  minSamples: number;
  features: FeatureDriftResult[];
  drifted: string[];
  insufficient: string[];
  /** Reference features absent from the current data. */
  missing: string[];
  /** Current features that the reference does not have (not evaluated). */
  unexpected: string[];
}

function isCountsObject(v: unknown): v is CategoryCounts {
  return v instanceof Map || (typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v));
}

/** The kind a value set looks like, or undefined when it cannot tell (empty / all missing). */
function detectKind(v: FeatureValues): FeatureKind | undefined {
  if (ArrayBuffer.isView(v)) return 'numeric';
  if (isCountsObject(v)) return 'categorical';
  const arr = v as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (x === null || x === undefined) continue;
    return typeof x === 'number' ? 'numeric' : 'categorical';
  }
  return undefined;
}

/** Counts of raw categorical values (null/undefined skipped; other values by String()). */
export function countCategories(values: ArrayLike<unknown>): Map<string, number> {
  const index = new Map<string, number>();
  let counts = new Float64Array(16);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const key = typeof v === 'string' ? v : String(v);
    let k = index.get(key);
    if (k === undefined) {
      k = index.size;
      index.set(key, k);
      if (k === counts.length) {
        const grown = new Float64Array(counts.length * 2);
        grown.set(counts);
        counts = grown;
      }
    }
    counts[k]!++;
  }
  const out = new Map<string, number>();
  for (const [key, k] of index) out.set(key, counts[k]!);
  return out;
}

function asCategoryCounts(v: FeatureValues): Map<string, number> {
  if (isCountsObject(v)) return countsMap(v);
  return countCategories(v);
}

const sumCounts = (m: ReadonlyMap<string, number>): number => {
  let s = 0;
  for (const c of m.values()) s += c;
  return s;
};

function decide(method: DriftMethod, value: number | null, pValue: number | null | undefined, threshold: number): boolean {
  if (IS_TEST[method]) return pValue !== null && pValue !== undefined && pValue < threshold;
  return value !== null && value > threshold;
}

const finiteOrNull = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

/**
 * Drift of every reference feature: `reference` and `current` map feature names to values.
 * Numeric features use `options.method`; categorical features always use
 * `options.categoricalMethod` (chi2 by default). A feature with fewer than `minSamples`
 * non-missing values on either side is `insufficient_data` and never drifts. The reference's
 * features absent from `current` are listed in `missing`.
 */
export function featureDrift(reference: Readonly<Record<string, FeatureValues>>, current: Readonly<Record<string, FeatureValues>>, options: FeatureDriftOptions): DriftReport {
  const { method, threshold, minSamples } = options;
  const categoricalMethod = options.categoricalMethod ?? 'chi2';
  const categoricalThreshold =
    options.categoricalThreshold ??
    (categoricalMethod === method || (IS_TEST[categoricalMethod] && IS_TEST[method]) ? threshold : DEFAULT_THRESHOLDS[categoricalMethod]);
  const bins = options.bins ?? DEFAULT_BINS;
  const wantKs = method === 'ks' || (options.metrics ?? []).includes('ks');
  const maxCats = options.histogramCategories ?? 20;

  const features: FeatureDriftResult[] = [];
  const missing: string[] = [];
  for (const feature of Object.keys(reference)) {
    const refValues = reference[feature]!;
    if (!Object.prototype.hasOwnProperty.call(current, feature) || current[feature] === undefined) {
      missing.push(feature);
      continue;
    }
    const curValues = current[feature];
    const kind: FeatureKind = options.kinds?.[feature] ?? detectKind(refValues) ?? detectKind(curValues) ?? 'numeric';
    if (kind === 'categorical') {
      const th = options.perFeature?.[feature] ?? categoricalThreshold;
      const ref = asCategoryCounts(refValues);
      const cur = asCategoryCounts(curValues);
      const nReference = sumCounts(ref);
      const n = sumCounts(cur);
      const base: FeatureDriftResult = { feature, kind, method: categoricalMethod, value: null, threshold: th, drifted: false, status: 'insufficient_data', n, nReference, metrics: {} };
      if (IS_TEST[categoricalMethod]) base.pValue = null;
      if (n < minSamples || nReference < minSamples || n === 0 || nReference === 0) {
        features.push(base);
        continue;
      }
      const chi2 = chiSquaredCategorical(ref, cur);
      const js = jensenShannonCategorical(ref, cur);
      const value = categoricalMethod === 'chi2' ? chi2.statistic : js;
      const pValue = categoricalMethod === 'chi2' ? chi2.pValue : undefined;
      const drifted = decide(categoricalMethod, value, pValue, th);
      const result: FeatureDriftResult = { ...base, value: finiteOrNull(value), drifted, status: drifted ? 'drift' : 'no_drift', metrics: { chi2, js }, histogram: categoryHistogram(ref, cur, nReference, n, maxCats) };
      if (pValue !== undefined) result.pValue = finiteOrNull(pValue);
      features.push(result);
      continue;
    }

    const th = options.perFeature?.[feature] ?? threshold;
    if (isCountsObject(refValues) || isCountsObject(curValues)) {
      throw new TypeError(`feature "${feature}": numeric features need value arrays, not category counts (set options.kinds["${feature}"] = 'categorical')`);
    }
    const base: FeatureDriftResult = { feature, kind, method, value: null, threshold: th, drifted: false, status: 'insufficient_data', n: 0, nReference: 0, metrics: {} };
    if (IS_TEST[method]) base.pValue = null;
    const a = analyzeNumeric(refValues as ArrayLike<number>, curValues as ArrayLike<number>, { bins, ks: wantKs });
    base.n = a.nCurrent;
    base.nReference = a.nReference;
    if (a.nCurrent < minSamples || a.nReference < minSamples || a.nCurrent === 0 || a.nReference === 0) {
      features.push(base);
      continue;
    }
    const metrics: FeatureMetrics = {
      psi: psiFromCounts(a.referenceCounts, a.currentCounts),
      js: jensenShannon(a.referenceCounts, a.currentCounts),
      chi2: chiSquaredHomogeneity(a.referenceCounts, a.currentCounts),
    };
    if (a.ks !== null) {
      const k = ksPValue(a.ks, a.nReference, a.nCurrent, options.ksMethod ?? 'auto');
      metrics.ks = { statistic: k.statistic, pValue: k.pValue, method: k.method };
    }
    let value: number;
    let pValue: number | undefined;
    switch (method) {
      case 'psi':
        value = metrics.psi!;
        break;
      case 'js':
        value = metrics.js!;
        break;
      case 'ks':
        value = metrics.ks!.statistic;
        pValue = metrics.ks!.pValue;
        break;
      case 'chi2':
        value = metrics.chi2!.statistic;
        pValue = metrics.chi2!.pValue;
        break;
    }
    const drifted = decide(method, value, pValue, th);
    const result: FeatureDriftResult = {
      ...base,
      value: finiteOrNull(value),
      drifted,
      status: drifted ? 'drift' : 'no_drift',
      metrics,
      histogram: { edges: a.edges, reference: a.referenceCounts.map((c) => c / a.nReference), current: a.currentCounts.map((c) => c / a.nCurrent) },
    };
    if (pValue !== undefined) result.pValue = finiteOrNull(pValue);
    features.push(result);
  }
  const refNames = new Set(Object.keys(reference));
  const unexpected = Object.keys(current).filter((k) => !refNames.has(k));
  const drifted = features.filter((f) => f.drifted).map((f) => f.feature);
  const insufficient = features.filter((f) => f.status === 'insufficient_data').map((f) => f.feature);
  const evaluated = features.length - insufficient.length;
  const verdict: DriftVerdict = drifted.length > 0 ? 'drift' : evaluated === 0 ? 'insufficient_data' : 'no_drift';
  return { verdict, method, categoricalMethod, minSamples, features, drifted, insufficient, missing, unexpected };
}

function categoryHistogram(ref: ReadonlyMap<string, number>, cur: ReadonlyMap<string, number>, nRef: number, nCur: number, max: number): DriftHistogram {
  const cats = [...new Set([...ref.keys(), ...cur.keys()])];
  // Most frequent first (reference, then current), ties by name.
  cats.sort((x, y) => (ref.get(y) ?? 0) - (ref.get(x) ?? 0) || (cur.get(y) ?? 0) - (cur.get(x) ?? 0) || (x < y ? -1 : x > y ? 1 : 0));
  const keep = cats.length > max ? cats.slice(0, Math.max(1, max - 1)) : cats;
  const labels = [...keep];
  const reference = keep.map((c) => (ref.get(c) ?? 0) / nRef);
  const current = keep.map((c) => (cur.get(c) ?? 0) / nCur);
  if (keep.length < cats.length) {
    labels.push('(other)');
    reference.push(Math.max(0, 1 - reference.reduce((s, x) => s + x, 0)));
    current.push(Math.max(0, 1 - current.reduce((s, x) => s + x, 0)));
  }
  return { labels, reference, current };
}
