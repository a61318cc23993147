/**
 * Independent evaluation of a command trainer: mlcycle scores the held-out test rows itself, from
 * the ONNX model the trainer saved (or, as a marked fallback, from predictions it wrote for those
 * rows). What the trainer printed stays a training metric; it never reaches the gate.
 */
import type { MetricName, PipelineSpec } from '../src/spec/pipeline-spec';
import { MlcycleError } from '../src/errors';
import { hasOnnxModel, loadOnnxFromFolder, readOutputFolder, readTrainerPredictions } from '../src/onnx/onnx-artifact';
import { ONNX_MODEL_FILE, type OnnxModel } from '../src/onnx/onnx-model';
import type { TaskType } from '../src/training/feature-matrix';
import { encode, fitEncoder, type Row } from '../src/training/features';
import { computeMetrics, confusionMatrix, rocCurve, type Metrics } from '../src/training/metrics';
import { computeRegressionMetrics } from '../src/training/regression-metrics';
import { trainerFeatures } from './command-data';
import type { ActivityDeps } from './deps';

export type ScoredFrom = 'onnx' | 'trainer-predictions';
export const SCORED_FROM_TEXT: Record<ScoredFrom, string> = {
  onnx: 'scored by mlcycle from the ONNX model',
  'trainer-predictions': 'scored from trainer-written predictions',
};

export interface CommandScore {
  metrics: Metrics;
  scoredFrom: ScoredFrom;
  roc: ReturnType<typeof rocCurve>;
  confusion: ReturnType<typeof confusionMatrix>;
}

/** The test rows' target as evaluation encodes it per task. */
export function encodeTestTarget(data: PipelineSpec['data'], task: TaskType, rows: readonly Row[]): Float64Array {
  const rule = data.schema[data.target]!;
  if (task === 'regression') {
    return Float64Array.from(rows, (r, i) => {
      const v = Number(r[data.target]);
      if (!Number.isFinite(v)) throw new MlcycleError('DATA_INVALID', `test row ${i + 1}: target "${data.target}" is not a number`);
      return v;
    });
  }
  if (task === 'multiclass') {
    const values = rule.type === 'category' ? rule.values : [];
    return Float64Array.from(rows, (r, i) => {
      const k = values.indexOf(String(r[data.target]));
      if (k < 0) throw new MlcycleError('DATA_INVALID', `test row ${i + 1}: target "${data.target}" has ${JSON.stringify(r[data.target])}; expected one of ${values.join(', ')}`);
      return k;
    });
  }
  // Binary: exactly the built-in encoder's target encoding (its feature statistics go unused).
  return Float64Array.from(encode(fitEncoder({ schema: data.schema, target: data.target, rows }), rows).y);
}

function multiclassMetrics(y: Float64Array, proba: readonly ArrayLike<number>[], names: readonly MetricName[]): Metrics {
  const out: Metrics = {};
  const n = y.length;
  if (names.includes('accuracy')) {
    let hit = 0;
    for (let i = 0; i < n; i++) {
      const p = proba[i]!;
      let best = 0;
      for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
      if (best === y[i]) hit++;
    }
    out.accuracy = n ? hit / n : Number.NaN;
  }
  if (names.includes('logloss')) {
    let s = 0;
    for (let i = 0; i < n; i++) s -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, proba[i]![y[i]!] ?? 0)));
    out.logloss = n ? s / n : Number.NaN;
  }
  return out;
}

export function scoreTask(task: TaskType, y: Float64Array, scores: Float64Array | readonly ArrayLike<number>[], names: readonly MetricName[]): Omit<CommandScore, 'scoredFrom'> {
  if (task === 'regression') {
    return { metrics: computeRegressionMetrics(y, scores as Float64Array, names), roc: [], confusion: { tp: 0, fp: 0, tn: 0, fn: 0 } };
  }
  if (task === 'multiclass') {
    return { metrics: multiclassMetrics(y, scores as ArrayLike<number>[], names), roc: [], confusion: { tp: 0, fp: 0, tn: 0, fn: 0 } };
  }
  const p = scores as Float64Array;
  return { metrics: computeMetrics(y, p, names), roc: rocCurve(y, p), confusion: confusionMatrix(y, p) };
}

async function scoreWith(model: OnnxModel, test: readonly Row[]): Promise<Float64Array | Float64Array[]> {
  const s = await model.score(test);
  return s.values;
}

/**
 * Scores a command trainer's output folder on the test rows. ARTIFACT_INTEGRITY (not retried) when
 * the folder has neither a usable ONNX model nor predictions, or the model's inputs do not match
 * the spec's features.
 */
export async function scoreCommandModel(
  deps: ActivityDeps,
  modelUri: string,
  data: PipelineSpec['data'],
  task: TaskType,
  test: readonly Row[],
  names: readonly MetricName[],
): Promise<CommandScore> {
  const files = await readOutputFolder(deps.store, modelUri);
  if (!files) throw new MlcycleError('ARTIFACT_INTEGRITY', `${modelUri} is not a command trainer's output folder`);
  const y = encodeTestTarget(data, task, test);
  if (hasOnnxModel(files)) {
    const model = await loadOnnxFromFolder(deps.store, files, trainerFeatures(data), task);
    try {
      const scores = await scoreWith(model, test);
      const bad = scores instanceof Float64Array ? scores.findIndex((v) => !Number.isFinite(v)) : -1;
      if (bad >= 0) throw new MlcycleError('ARTIFACT_INTEGRITY', `the ONNX model scored test row ${bad + 1} as ${scores[bad]}: not a number`);
      return { ...scoreTask(task, y, scores, names), scoredFrom: 'onnx' };
    } finally {
      await model.release();
    }
  }
  const predictions = await readTrainerPredictions(deps.store, files, task, test.length);
  if (predictions) {
    const scores = task === 'multiclass' ? (predictions as number[][]) : Float64Array.from(predictions as number[]);
    return { ...scoreTask(task, y, scores, names), scoredFrom: 'trainer-predictions' };
  }
  throw new MlcycleError(
    'ARTIFACT_INTEGRITY',
    `the command trainer left neither ${ONNX_MODEL_FILE} nor predictions.json in MLCYCLE_OUTPUT_DIR, so mlcycle cannot score it: metrics the trainer prints are training metrics only (python/mlcycle_trainer: ctx.save_model or ctx.predict_test)`,
  );
}
