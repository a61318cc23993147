export interface ChiSquaredResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/** Pearson chi-squared test of homogeneity on the 2×k table whose rows are `a` and `b`. */

import { chiSquaredSf } from './special-functions';
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
