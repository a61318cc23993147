/**
 * Kolmogorov–Smirnov distributions, numerically matched to SciPy: the Kolmogorov distribution of
 * D_n (scipy.stats.kstwo), the one-sided Smirnov distribution (scipy.special.smirnov) and the
 * two-sample p-value of ks_2samp (exact or asymptotic).
 */

import { LN_2PI } from './special-functions';

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
