import type { MonitorSpec } from '../spec/pipeline-spec';
import { featureDrift, type DriftReport, type FeatureKind } from './drift';
import { labelShift, predictionShift } from './drift-metrics';

/**
 * One side of a check, column-wise: a numeric feature's values (NaN missing), a categorical
 * feature's counts per value (booleans as "true"/"false"). A feature the data does not have is
 * left out of `features`.
 */
export interface DriftSample {
  rows: number;
  features: Readonly<Record<string, Float64Array | ReadonlyMap<string, number>>>;
  /** The positive rate of the target over the rows that carry one (none carry one: undefined). */
  positives?: { rate: number; n: number };
}

export interface DriftInputs {
  features: Array<{ name: string; kind: FeatureKind }>;
  reference: DriftSample;
  current: DriftSample;
  referenceProba: ArrayLike<number>;
  currentProba: ArrayLike<number>;
  config: MonitorSpec['drift'];
}

export interface DriftCheckReport {
  verdict: 'drift' | 'no_drift' | 'insufficient_data';
  drifted: string[];
  missing: string[];
  predictionShift?: { method: string; value: number; drifted: boolean };
  labelShift?: { reference: number; current: number; pValue: number; drifted: boolean };
  raw: DriftReport;
}

/** Label shift counts as found below this p-value (two-proportion z-test). */
const LABEL_SHIFT_ALPHA = 0.01;

/**
 * One monitoring check's statistics: per-feature drift of the current window against the training
 * rows, the shift of the predicted probabilities (PSI against the same threshold) and, when the
 * current rows carry labels, prior (label) shift. Too few current rows is `insufficient_data`,
 * never an alarm; features absent from the current data are listed by name.
 */
export function buildDriftReport(inputs: DriftInputs): DriftCheckReport {
  const reference: Record<string, Float64Array | ReadonlyMap<string, number>> = {};
  const current: Record<string, Float64Array | ReadonlyMap<string, number>> = {};
  const kinds: Record<string, FeatureKind> = {};
  for (const f of inputs.features) {
    // A feature the reference lacks drifts against nothing: all missing, so insufficient.
    reference[f.name] = inputs.reference.features[f.name] ?? (f.kind === 'numeric' ? new Float64Array(0) : new Map<string, number>());
    kinds[f.name] = f.kind;
    const cur = inputs.current.features[f.name];
    if (cur !== undefined) current[f.name] = cur;
  }
  const raw = featureDrift(reference, current, {
    method: inputs.config.method,
    threshold: inputs.config.threshold,
    minSamples: inputs.config.minSamples,
    kinds,
    metrics: ['psi', 'ks', 'js'],
    ...(inputs.config.perFeature ? { perFeature: inputs.config.perFeature } : {}),
  });
  const enough = inputs.current.rows >= inputs.config.minSamples;

  let prediction: DriftCheckReport['predictionShift'];
  if (enough && inputs.referenceProba.length && inputs.currentProba.length) {
    const shift = predictionShift(inputs.referenceProba, inputs.currentProba);
    prediction = { method: 'psi', value: shift.psi, drifted: shift.psi > 0.2 };
  }
  let label: DriftCheckReport['labelShift'];
  const refRate = inputs.reference.positives;
  const curRate = inputs.current.positives;
  if (enough && refRate && curRate && curRate.n >= inputs.config.minSamples) {
    const t = labelShift(refRate.rate, curRate.rate, refRate.n, curRate.n);
    label = { reference: refRate.rate, current: curRate.rate, pValue: t.pValue, drifted: t.pValue < LABEL_SHIFT_ALPHA };
  }
  const verdict = !enough ? 'insufficient_data' : raw.verdict === 'drift' || prediction?.drifted || label?.drifted ? 'drift' : raw.verdict;
  return {
    verdict,
    drifted: raw.drifted,
    missing: raw.missing,
    ...(prediction ? { predictionShift: prediction } : {}),
    ...(label ? { labelShift: label } : {}),
    raw,
  };
}
