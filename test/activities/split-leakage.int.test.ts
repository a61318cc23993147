/**
 * Tuning trials and training curves never read the test rows: poisoning the test rows' labels
 * leaves every trial's score and the training curve unchanged, while the final evaluation (the one
 * reader of the test rows) sees it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { loadSnapshotSplits } from '../../activities/dataset-loader';
import { parsePipelineSpec, type PipelineSpec } from '../../src/spec/pipeline-spec';
import { createS3Client } from '../../src/storage/s3-client';
import { workerPermissions } from '../../src/worker/worker-permissions';
import { scaleSchema, writeScaleCsv } from '../helpers/scale-data';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

/** Runs an activity function with a mock activity context, keeping its types. */
function run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment().run<[I], O, typeof fn>(fn, input);
}

describe('three-way split: no leakage into tuning and curves', () => {
  let env: TestEnv;
  let dir: string;
  let acts: ReturnType<typeof createActivities>;
  let data: PipelineSpec['data'];

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-leak-'));
    // The CSVs live in the test's temporary folder: this worker's only data root.
    acts = createActivities({ store: env.store, s3: createS3Client(env.s3), workDir: dir, queue: 'cpu', gpuDevices: [], permissions: workerPermissions({ dataRoot: [dir] }) });
    data = parsePipelineSpec({
      apiVersion: 'mlcycle/v1',
      name: 'leak',
      data: { source: 'file://x.csv', target: 'label', schema: scaleSchema(8), split: { test: 0.25, validation: 0.2, seed: 9 } },
      train: { trainer: 'logistic-regression' },
    }).data;
  });
  afterAll(async () => {
    await env?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function ingest(file: string) {
    return run(acts.ingestDataset, { source: `file://${file}`, schema: data.schema, target: 'label', codeVersion: 'test', cache: false });
  }

  it('poisoned test labels change nothing in trials or curves, and change the evaluation', async () => {
    const clean = path.join(dir, 'clean.csv');
    await writeScaleCsv(clean, { rows: 3000, features: 8, seed: 4 });
    const a = await ingest(clean);

    // Flip the label of every test row (the split is by snapshot row index, so it is known here).
    const splits = await loadSnapshotSplits({ store: env.store, s3: createS3Client(env.s3), workDir: dir, queue: 'cpu', gpuDevices: [] }, a.dataset, data, { scratch: dir });
    const testRows = new Set(Array.from(splits.test, (i) => splits.table.rowIndex[i]!));
    const lines = (await fs.readFile(clean, 'utf8')).trimEnd().split('\n');
    const poisonedLines = lines.map((line, k) => {
      if (k === 0 || !testRows.has(k - 1)) return line;
      return line.endsWith(',true') ? line.replace(/,true$/, ',false') : line.replace(/,false$/, ',true');
    });
    const poisoned = path.join(dir, 'poisoned.csv');
    await fs.writeFile(poisoned, poisonedLines.join('\n') + '\n');
    const b = await ingest(poisoned);
    expect(b.dataset.sha256).not.toBe(a.dataset.sha256);

    // Tuning trials: the same params score the same on both datasets.
    for (const params of [{ learningRate: 0.05, epochs: 6 }, { learningRate: 0.3, epochs: 6 }]) {
      const trial = (dataset: typeof a.dataset) =>
        run(acts.trainTrialSegment, {
          studyId: 's',
          trialId: 1,
          dataset,
          data,
          trainer: 'logistic-regression' as const,
          params,
          seed: 1,
          metric: 'auc',
          toEpoch: 6,
          checkpointUri: null,
        });
      const [ta, tb] = [await trial(a.dataset), await trial(b.dataset)];
      expect(tb.metric).toBe(ta.metric);
    }

    // Training curves (validation loss per epoch) are identical too.
    const train = (dataset: typeof a.dataset) =>
      run(acts.trainModel, { dataset, data, train: { ...parsePipelineSpec({ apiVersion: 'mlcycle/v1', name: 'leak', data: { source: 'file://x', target: 'label', schema: { label: { type: 'boolean' } } }, train: { trainer: 'logistic-regression', params: { epochs: 8 } } }).train }, codeVersion: 'test', cache: false });
    const [ra, rb] = [await train(a.dataset), await train(b.dataset)];
    expect(await env.store.getJson(rb.historyUri)).toEqual(await env.store.getJson(ra.historyUri));
    expect(ra.split).toMatchObject({ train: 1800, validation: 450, test: 750 });

    // The final evaluation does read the test rows: poisoned labels wreck its score.
    const evaluate = (dataset: typeof a.dataset, model: typeof ra) =>
      run(acts.evaluateModel, { name: 'leak', dataset, data, evaluate: { metrics: ['auc' as const], thresholds: {} }, trainer: 'logistic-regression', model, codeVersion: 'test', cache: false });
    const [ea, eb] = [await evaluate(a.dataset, ra), await evaluate(b.dataset, rb)];
    expect(ea.metrics.auc).toBeGreaterThan(0.6);
    expect(eb.metrics.auc).toBeLessThan(0.4);
    expect(ea.split).toMatchObject({ test: 750 });
  });
});
