/**
 * Real churn models for the serving tests and the throughput bench, trained in-process on the
 * generated churn dataset and registered through the real registry (no pipeline run needed).
 * No vitest imports: bench/predict-throughput.ts uses this too.
 */
import { createHash } from 'node:crypto';
import { CHURN_SCHEMA, CHURN_TARGET, generateChurnDataset, type ChurnRow } from '../../src/demo/dataset-generator';
import type { Lineage, ModelRegistry } from '../../src/registry/model-registry';
import type { ArtifactStore } from '../../src/storage/artifact-store';
import type { ModelArtifact } from '../../src/training/model-artifact';
import type { RawParams } from '../../src/training/trainer-contract';
import type { TrainerName } from '../../src/training/trainers';
import { trainArtifact } from '../helpers/train-artifact';

export interface TrainOptions {
  trainer?: TrainerName;
  params?: RawParams;
  rows?: number;
  seed?: number;
}

export async function trainChurnModel(opts: TrainOptions = {}): Promise<ModelArtifact> {
  const rows = generateChurnDataset({ rows: opts.rows ?? 1500, seed: opts.seed ?? 11 });
  return trainArtifact({ schema: CHURN_SCHEMA, target: CHURN_TARGET, rows, trainer: opts.trainer ?? 'logistic-regression', params: opts.params ?? { epochs: 20 }, seed: opts.seed ?? 11 });
}

/** Stores the artifact and registers it as the next version of `name`; returns the version number. */
export async function registerModel(
  store: ArtifactStore,
  registry: ModelRegistry,
  name: string,
  artifact: ModelArtifact,
  key: string,
): Promise<number> {
  const ref = await store.putJson(artifact);
  return registerUri(registry, name, ref.uri, key, { trainer: artifact.trainer });
}

/** Registers an already stored model (an artifact or an output folder) with test lineage keyed on `key`. */
export async function registerUri(
  registry: ModelRegistry,
  name: string,
  modelUri: string,
  key: string,
  lineage: { trainer: Lineage['trainer']; task?: Lineage['task'] },
): Promise<number> {
  const { version } = await registry.register({
    name,
    modelUri,
    metrics: {},
    reports: {},
    idempotencyKey: key,
    lineage: {
      datasetSha256: createHash('sha256').update(key).digest('hex'),
      datasetUri: 's3://test/dataset.csv',
      manifestUri: 's3://test/manifest.json',
      codeVersion: 'test',
      params: {},
      ...lineage,
      workflowId: `wf-${key}`,
      runId: `run-${key}`,
    },
  });
  return version.version;
}

/** Request rows: the generated churn rows without the label (customer_id stays, as an extra field). */
export function requestRows(n: number, seed = 99): Array<Omit<ChurnRow, 'churned'>> {
  return generateChurnDataset({ rows: n, seed }).map(({ churned: _label, ...row }) => row);
}
