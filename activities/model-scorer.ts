/**
 * One score per row from a registered model, whatever produced it: a built-in model artifact (the
 * probability of the positive class) or a command trainer's ONNX model (binary: the probability,
 * regression: the value). Drift monitoring compares these between reference and current rows.
 */
import { loadServableOnnx } from '../src/onnx/onnx-artifact';
import type { ContentStore } from '../src/storage/artifact-store';
import type { Row } from '../src/training/row-matrix-adapter';
import { parseModelArtifact, predict } from '../src/training/model-artifact';
import { MlcycleError } from '../src/errors';

export interface RowScorer {
  predict(rows: readonly Row[]): Promise<number[]>;
  release(): Promise<void>;
}

export async function loadRowScorer(store: ContentStore, modelUri: string): Promise<RowScorer> {
  const onnx = await loadServableOnnx(store, modelUri);
  if (onnx) {
    if (onnx.description.task === 'multiclass') throw new MlcycleError('ARTIFACT_INTEGRITY', 'multiclass ONNX models have no single score per row to monitor yet');
    return {
      predict: async (rows) => Array.from((await onnx.model.score(rows)).values as Float64Array),
      release: () => onnx.model.release(),
    };
  }
  const model = parseModelArtifact(await store.getJson(modelUri));
  return { predict: async (rows) => predict(model, rows), release: async () => undefined };
}
