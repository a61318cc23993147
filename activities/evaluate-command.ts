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
import type { Row } from '../src/training/row-matrix-adapter';
import { confusionMatrix, rocCurve, type Metrics } from '../src/training/metrics';
import { computeTaskMetrics, DEFAULT_TASK_METRICS } from '../src/training/task-metrics';
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
  // Binary, as the built-in encoder: a category's last declared value, `true`, or 1 is the positive class.
  const positive = rule.type === 'category' ? rule.values[rule.values.length - 1] : undefined;
  return Float64Array.from(rows, (r, i) => {
    const v = r[data.target];
    const y = rule.type === 'category' ? (v === positive ? 1 : v === rule.values[0] ? 0 : undefined) : v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : undefined;
    if (y === undefined) throw new MlcycleError('DATA_INVALID', `test row ${i + 1}: target "${data.target}" has ${JSON.stringify(v)}; expected one of the two classes`);
    return y;
  });
}

/** Scores with the one per-task metrics implementation (task-metrics.ts), as built-in models are scored. */
export function scoreTask(task: TaskType, y: Float64Array, scores: Float64Array | readonly ArrayLike<number>[], names: readonly MetricName[] | undefined): Omit<CommandScore, 'scoredFrom'> {
  const wanted = names && names.length ? names : DEFAULT_TASK_METRICS[task];
  if (task === 'multiclass') {
    const rows = scores as readonly ArrayLike<number>[];
    const k = rows[0]?.length ?? 0;
    const pred = new Float64Array(rows.length * k);
    rows.forEach((p, i) => pred.set(Array.from(p), i * k));
    return { metrics: computeTaskMetrics({ task, y, pred, numClasses: k }, wanted), roc: [], confusion: { tp: 0, fp: 0, tn: 0, fn: 0 } };
  }
  const pred = scores as Float64Array;
  if (task === 'regression') return { metrics: computeTaskMetrics({ task, y, pred, numClasses: 0 }, wanted), roc: [], confusion: { tp: 0, fp: 0, tn: 0, fn: 0 } };
  return { metrics: computeTaskMetrics({ task, y, pred, numClasses: 2 }, wanted), roc: rocCurve(y, pred, { maxPoints: 300 }), confusion: confusionMatrix(y, pred) };
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
  names: readonly MetricName[] | undefined,
): Promise<CommandScore> {
  const files = await readOutputFolder(deps.store, modelUri);
  if (!files) throw new MlcycleError('ARTIFACT_INTEGRITY', `${modelUri} is not a command trainer's output folder`);
  const y = encodeTestTarget(data, task, test);
  if (hasOnnxModel(files)) {
    const model = await loadOnnxFromFolder(deps.store, files, trainerFeatures(data), task);
    try {
      const scores = await scoreWith(model, test);
      const bad = scores instanceof Float64Array ? scores.findIndex((v) => !Number.isFinite(v)) : -1;
      if (bad >= 0) throw new MlcycleError('ARTIFACT_INTEGRITY', `the ONNX model scored test row ${bad + 1} as ${String(scores[bad])}: not a number`);
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
