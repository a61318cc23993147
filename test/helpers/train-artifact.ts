/**
 * A model artifact trained in-process from rows (no pipeline run): task resolved from the schema,
 * rows encoded by the row-matrix adapter, trained by runTraining. No vitest imports (benches use it).
 */
import type { ColumnRule } from '../../src/spec/pipeline-spec';
import { createModelArtifact, type DecisionThreshold, type ModelArtifact } from '../../src/training/model-artifact';
import { encodeFeatureRows, encodeTargetRows, fitRowEncoder, type Row } from '../../src/training/row-matrix-adapter';
import { resolveTask } from '../../src/training/target-task';
import type { RawParams } from '../../src/training/trainer-contract';
import { runTraining } from '../../src/training/training-loop';
import type { TrainerName } from '../../src/training/trainers';

export async function trainArtifact(opts: {
  schema: Readonly<Record<string, ColumnRule>>;
  target: string;
  rows: readonly Row[];
  trainer?: TrainerName;
  params?: RawParams;
  seed?: number;
  threshold?: DecisionThreshold;
}): Promise<ModelArtifact> {
  const task = resolveTask(undefined, opts.target, opts.schema[opts.target]!, opts.rows.map((r) => r[opts.target]));
  const encoder = fitRowEncoder({ schema: opts.schema, target: opts.target, task, rows: opts.rows });
  const data = { X: encodeFeatureRows(encoder, opts.rows), y: encodeTargetRows(encoder, opts.rows) };
  const result = await runTraining({ trainer: opts.trainer ?? 'logistic-regression', data, params: opts.params ?? {}, seed: opts.seed ?? 1, checkpointEvery: 1_000_000 });
  return createModelArtifact(encoder, result.state, opts.threshold ? { threshold: opts.threshold } : {});
}
