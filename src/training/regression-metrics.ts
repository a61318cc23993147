/**
 * Regression metrics over true values and predictions: rmse, mae, r2 (coefficient of
 * determination, 1 - SS_res/SS_tot as scikit-learn computes it) and mape (mean absolute percentage
 * error as a fraction, scikit-learn's definition: |y - ŷ| / max(|y|, eps)).
 */
import type { MetricName, Metrics } from './metrics';

const MAPE_EPS = 2.220446049250313e-16; // numpy float64 eps, as scikit-learn uses

export const REGRESSION_METRICS = ['rmse', 'mae', 'r2', 'mape'] as const satisfies readonly MetricName[];

export function computeRegressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, names: readonly MetricName[]): Metrics {
  if (yTrue.length !== yPred.length) throw new RangeError(`labels and predictions differ in length (${yTrue.length} vs ${yPred.length})`);
  const n = yTrue.length;
  let se = 0;
  let ae = 0;
  let ape = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i]!;
    const d = y - yPred[i]!;
    se += d * d;
    ae += Math.abs(d);
    ape += Math.abs(d) / Math.max(Math.abs(y), MAPE_EPS);
    sum += y;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (yTrue[i]! - mean) ** 2;
  const out: Metrics = {};
  for (const name of names) {
    switch (name) {
      case 'rmse':
        out.rmse = n === 0 ? Number.NaN : Math.sqrt(se / n);
        break;
      case 'mae':
        out.mae = n === 0 ? Number.NaN : ae / n;
        break;
      case 'r2':
        // scikit-learn: a constant target scores 1 when predicted exactly, else 0.
        out.r2 = n === 0 ? Number.NaN : ss === 0 ? (se === 0 ? 1 : 0) : 1 - se / ss;
        break;
      case 'mape':
        out.mape = n === 0 ? Number.NaN : ape / n;
        break;
      default:
        break;
    }
  }
  return out;
}
