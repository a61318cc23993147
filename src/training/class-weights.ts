import { MlcycleError } from '../errors';
import type { LabeledMatrix } from './feature-matrix';

/** Per-class sample weights: `balanced` = n / (k · n_c) as scikit-learn, or explicit by class label (others 1). */
export function classWeights(y: LabeledMatrix['y'], spec: 'balanced' | Readonly<Record<string, number>>): { weights: Float64Array; perClass: Record<string, number> } {
  const classes = y.classes ?? [];
  const k = classes.length;
  const counts = new Float64Array(k);
  for (let i = 0; i < y.values.length; i++) counts[y.values[i] as number] = (counts[y.values[i] as number] as number) + 1;
  const perClass: Record<string, number> = {};
  if (spec === 'balanced') {
    classes.forEach((c, j) => (perClass[c] = (counts[j] as number) > 0 ? y.values.length / (k * (counts[j] as number)) : 0));
  } else {
    for (const label of Object.keys(spec)) {
      if (!classes.includes(label)) throw new MlcycleError('SPEC_INVALID', `train.classWeight.${label}: no such class; the classes are ${classes.join(', ')}`);
    }
    classes.forEach((c) => (perClass[c] = spec[c] ?? 1));
  }
  const weights = new Float64Array(y.values.length);
  for (let i = 0; i < weights.length; i++) weights[i] = perClass[classes[y.values[i] as number] as string] as number;
  return { weights, perClass };
}
