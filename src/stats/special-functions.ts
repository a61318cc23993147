/**
 * Special functions for the drift tests' p-values: log-gamma, the regularized incomplete gamma
 * function, and the chi-squared and normal tails built on it (numerically matched to SciPy).
 */

export const LN_2PI = 1.8378770664093453; // ln(2π)
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
