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
