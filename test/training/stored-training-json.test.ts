import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MlcycleError } from '../../src/errors';
import { readStoredJson } from '../../src/storage/stored-json';
import { EpochMetricsSchema } from '../../src/training/trainer-contract';
import { CheckpointSchema, runTraining, type Checkpoint } from '../../src/training/training-loop';
import { sliceRows, synthetic } from '../helpers/synthetic-tasks';

/** A store that holds one JSON document, as the artifact store hands it back (parsed JSON). */
const storeOf = (doc: unknown) => ({ getJson: async () => JSON.parse(JSON.stringify(doc)) as unknown });

describe('checkpoints read back by CheckpointSchema', () => {
  const all = synthetic({ task: 'binary', rows: 600, features: 4, seed: 5, missing: 0 });
  const train = sliceRows(all, 0, 500);

  it.each(['logistic-regression', 'gradient-boosting'] as const)('%s: a stored checkpoint parses and resumes to the uninterrupted result', async (trainer) => {
    const params = trainer === 'gradient-boosting' ? { epochs: 6 } : { epochs: 8 };
    const full = await runTraining({ trainer, data: train, params, seed: 2, checkpointEvery: 3 });
    let stored: Checkpoint | undefined;
    await runTraining({ trainer, data: train, params, seed: 2, checkpointEvery: 3, onCheckpoint: (cp) => void (stored ??= cp) });
    const parsed = await readStoredJson(storeOf(stored), 's3://b/cp', CheckpointSchema, 'checkpoint');
    expect(parsed.epoch).toBe(3);
    const resumed = await runTraining({ trainer, data: train, params, seed: 2, checkpointEvery: 3, resumeFrom: parsed });
    expect(JSON.stringify(resumed.state)).toBe(JSON.stringify(full.state));
  });

  it('a document that is not a checkpoint fails with ARTIFACT_INTEGRITY naming the field', async () => {
    const bad = { format: 'mlcycle-checkpoint/v2', trainer: 'logistic-regression', epoch: 3, totalEpochs: 8, seed: 2, state: {} };
    const err = await readStoredJson(storeOf(bad), 's3://b/cp', CheckpointSchema, 'checkpoint').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlcycleError);
    expect((err as MlcycleError).code).toBe('ARTIFACT_INTEGRITY');
    expect((err as MlcycleError).message).toContain('checkpoint s3://b/cp');
    expect((err as MlcycleError).message).toContain('dataFingerprint');
    expect((err as MlcycleError).message).toContain('state.trainer');
  });
});

describe('training histories read back by EpochMetricsSchema', () => {
  it('a NaN loss, stored by JSON as null, reads back as NaN', async () => {
    const history = [{ epoch: 1, loss: 0.5, valLoss: 0.6 }, { epoch: 2, loss: Number.NaN }];
    const read = await readStoredJson(storeOf(history), 's3://b/h', z.array(EpochMetricsSchema), 'training history');
    expect(read[0]).toEqual({ epoch: 1, loss: 0.5, valLoss: 0.6 });
    expect(read[1]!.loss).toBeNaN();
  });

  it('refuses a history whose loss is not a number', async () => {
    await expect(readStoredJson(storeOf([{ epoch: 1, loss: 'high' }]), 's3://b/h', z.array(EpochMetricsSchema), 'training history')).rejects.toThrow(/training history s3:\/\/b\/h.*\n.*0\.loss/);
  });
});
