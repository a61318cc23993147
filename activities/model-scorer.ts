/**
 * One score per row from a registered model, whatever produced it: a built-in model artifact (the
 * probability of the positive class) or a command trainer's ONNX model (binary: the probability,
 * regression: the value). Drift monitoring compares these between reference and current rows.
 */
import { tableRows, type LoadedTable } from '../src/data/columnar-load';
import { loadServableOnnx } from '../src/onnx/onnx-artifact';
import { encodeFeatureColumns } from '../src/training/columnar-encoder';
import { getTrainer } from '../src/training/trainers';
import type { ContentStore } from '../src/storage/artifact-store';
import type { Row } from '../src/training/row-matrix-adapter';
import { parseModelArtifact, predict, rowScores } from '../src/training/model-artifact';
import { MlcycleError } from '../src/errors';

export interface RowScorer {
  predict(rows: readonly Row[]): Promise<number[]>;
  /** The same scores for `rows` of a loaded table, a chunk at a time (never all rows as objects). */
  scoreTable(table: LoadedTable, rows: Uint32Array): Promise<Float64Array>;
  release(): Promise<void>;
}

/** Rows scored at once: bounds the encoded matrix (or, for ONNX, the row objects) of a large table. */
const SCORE_CHUNK = 65_536;

async function scoreInChunks(rows: Uint32Array, score: (chunk: Uint32Array) => Promise<ArrayLike<number>>): Promise<Float64Array> {
  const out = new Float64Array(rows.length);
  for (let at = 0; at < rows.length; at += SCORE_CHUNK) {
    const chunk = rows.subarray(at, Math.min(rows.length, at + SCORE_CHUNK));
    out.set(await score(chunk), at);
  }
  return out;
}

export async function loadRowScorer(store: ContentStore, modelUri: string): Promise<RowScorer> {
  const onnx = await loadServableOnnx(store, modelUri);
  if (onnx) {
    if (onnx.description.task === 'multiclass') throw new MlcycleError('ARTIFACT_INTEGRITY', 'multiclass ONNX models have no single score per row to monitor yet');
    return {
      predict: async (rows) => Array.from((await onnx.model.score(rows)).values as Float64Array),
      scoreTable: (table, rows) => scoreInChunks(rows, async (chunk) => (await onnx.model.score(tableRows(table, chunk))).values as Float64Array),
      release: () => onnx.model.release(),
    };
  }
  const model = parseModelArtifact(await store.getJson(modelUri));
  const trainer = getTrainer(model.trainer);
  return {
    predict: async (rows) => predict(model, rows),
    scoreTable: (table, rows) => scoreInChunks(rows, async (chunk) => rowScores(model, trainer.predict(model.state, encodeFeatureColumns(model.encoder, table, chunk)), chunk.length)),
    release: async () => undefined,
  };
}
