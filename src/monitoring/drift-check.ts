import type { MonitorSpec } from '../spec/pipeline-spec';
import type { Row } from '../training/row-matrix-adapter';
import { featureDrift, type DriftReport, type FeatureKind } from './drift';
import { labelShift, predictionShift } from './drift-metrics';

export interface DriftInputs {
  features: Array<{ name: string; kind: FeatureKind }>;
  reference: readonly Row[];
  current: readonly Row[];
  referenceProba: readonly number[];
  currentProba: readonly number[];
  target: string;
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

const column = (rows: readonly Row[], name: string) => rows.map((r) => (r[name] === undefined ? null : (r[name] as string | number | boolean | null)));

function positiveRate(rows: readonly Row[], target: string): { rate: number; n: number } | undefined {
  let n = 0;
  let pos = 0;
  for (const r of rows) {
    const v = r[target];
    if (v === null || v === undefined) continue;
    n++;
    if (v === true || v === 1 || v === 'true' || v === 'yes' || v === '1') pos++;
  }
  return n > 0 ? { rate: pos / n, n } : undefined;
}

/**
 * One monitoring check's statistics: per-feature drift of the current window against the training
 * rows, the shift of the predicted probabilities (PSI against the same threshold) and, when the
 * current rows carry labels, prior (label) shift. Too few current rows is `insufficient_data`,
 * never an alarm; features absent from the current data are listed by name.
 */
export function buildDriftReport(inputs: DriftInputs): DriftCheckReport {
  const present = (name: string) => inputs.current.some((r) => r[name] !== undefined);
  const reference: Record<string, ReturnType<typeof column>> = {};
  const current: Record<string, ReturnType<typeof column>> = {};
  const kinds: Record<string, FeatureKind> = {};
  for (const f of inputs.features) {
    reference[f.name] = column(inputs.reference, f.name);
    kinds[f.name] = f.kind;
    if (present(f.name)) current[f.name] = column(inputs.current, f.name);
  }
  const raw = featureDrift(reference, current, {
    method: inputs.config.method,
    threshold: inputs.config.threshold,
    minSamples: inputs.config.minSamples,
    kinds,
    metrics: ['psi', 'ks', 'js'],
    ...(inputs.config.perFeature ? { perFeature: inputs.config.perFeature } : {}),
  });
  const enough = inputs.current.length >= inputs.config.minSamples;

  let prediction: DriftCheckReport['predictionShift'];
  if (enough && inputs.referenceProba.length && inputs.currentProba.length) {
    const shift = predictionShift(inputs.referenceProba, inputs.currentProba);
    prediction = { method: 'psi', value: shift.psi, drifted: shift.psi > 0.2 };
  }
  let label: DriftCheckReport['labelShift'];
  const refRate = positiveRate(inputs.reference, inputs.target);
  const curRate = positiveRate(inputs.current, inputs.target);
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
