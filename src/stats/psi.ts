/**
 * The Population Stability Index, the one PSI of the project (drift monitoring and data
 * validation both use it): PSI = Σ (c − r)·ln(c / r) over bins, with r, c the reference/current
 * proportions; a bin that is empty on one side gets the proportion `epsilon` on that side instead
 * of 0 (other proportions are left as they are, not renormalised).
 */

/** The smallest proportion a PSI bin gets when it is empty on one side. */
export const PSI_EPSILON = 1e-6;

/**
 * PSI from per-bin counts (or proportions) of the two samples; see the module doc for ε. NaN
 * when either side has nothing in any bin.
 */
export function psiFromCounts(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < refCounts.length; i++) nr += refCounts[i]!;
  for (let i = 0; i < curCounts.length; i++) nc += curCounts[i]!;
  if (!(nr > 0) || !(nc > 0)) return NaN;
  let total = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = refCounts[i]! === 0 ? epsilon : refCounts[i]! / nr;
    const c = curCounts[i]! === 0 ? epsilon : curCounts[i]! / nc;
    total += (c - r) * Math.log(c / r);
  }
  return total;
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
