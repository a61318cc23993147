import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { installRuntime } from '../../src/dev/dev-environment';
import { freePort } from '../../src/stack/ports';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { scrape, scrapeUntil, total, type Sample } from './prometheus';

const STAGES = ['ingest', 'validate', 'train', 'evaluate', 'register'];

/**
 * Crashes once right after its first checkpoint; the retry gets MLCYCLE_RESUME_FROM and finishes.
 * The pause lets the heartbeat naming the checkpoint reach the server before the crash.
 */
const CRASH_ONCE_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const say = (m) => console.log('MLCYCLE ' + JSON.stringify(m));
const resume = process.env.MLCYCLE_RESUME_FROM;
const start = resume ? JSON.parse(fs.readFileSync(path.join(resume, 'state.json'), 'utf8')).epoch : 0;
const epochs = 4;
async function main() {
  for (let epoch = start + 1; epoch <= epochs; epoch++) {
    say({ type: 'metric', epoch, total: epochs, name: 'loss', value: 1 / epoch });
    if (epoch === 2) {
      const dir = path.join(process.env.MLCYCLE_CHECKPOINT_DIR, 'epoch-2');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ epoch }));
      say({ type: 'checkpoint', epoch, path: 'epoch-2' });
      if (!resume) {
        await new Promise((r) => setTimeout(r, 4000));
        console.error('simulated crash after the checkpoint');
        process.exit(1);
      }
    }
  }
  for (const [name, value] of [['auc', 0.9], ['accuracy', 0.85], ['f1', 0.7]]) say({ type: 'metric', name, value });
  fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'model.json'), JSON.stringify({ start }));
  // mlcycle scores the test rows itself: without an ONNX model, the trainer writes its predictions.
  const schema = JSON.parse(fs.readFileSync(process.env.MLCYCLE_SCHEMA_FILE, 'utf8'));
  fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'predictions.json'),
    JSON.stringify({ format: 'mlcycle-predictions/v1', task: schema.task, predictions: new Array(schema.rows.test).fill(0.7) }));
}
main();
`;

describe('worker metrics on the Prometheus endpoint', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let address: string;

  beforeAll(async () => {
    // Before startTestEnv, whose own installRuntime() call then finds this process's Runtime installed.
    address = `127.0.0.1:${await freePort()}`;
    installRuntime({ metricsAddress: address });
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 800 });
    await ws.writeFile('crash-once.js', CRASH_ONCE_SCRIPT);
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  const stageCount = (samples: Sample[], model: string, stage: string, outcome: string) =>
    total(samples, 'mlcycle_stage_duration_seconds_count', { model, stage, outcome });

  it("serves the SDK's metrics and mlcycle's stage durations and cache hits together", async () => {
    const spec = await ws.spec('metrics.yaml', (d) => {
      d.name = 'churn-metrics';
      d.evaluate.thresholds = {};
    });
    const before = await scrape(address);

    const first = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    expect(first.status).toBe('completed');
    const afterFirst = await scrapeUntil(address, (s) => STAGES.every((stage) => stageCount(s, 'churn-metrics', stage, 'completed') === 1));

    // The SDK's own telemetry, for this file's task queue.
    const cpu = `${env.queuePrefix}cpu`;
    expect(total(afterFirst, 'temporal_workflow_completed', { task_queue: cpu, workflow_type: 'trainingPipeline' })).toBe(1);
    expect(total(afterFirst, 'temporal_workflow_task_execution_latency_count', { task_queue: cpu })).toBeGreaterThan(0);
    expect(total(afterFirst, 'temporal_activity_execution_latency_count', { task_queue: cpu, activity_type: 'trainModel' })).toBe(1);

    // One duration per stage that ran, none cached, each taking some time but less than the whole run.
    for (const stage of STAGES) {
      expect(stageCount(afterFirst, 'churn-metrics', stage, 'completed'), stage).toBe(1);
      expect(stageCount(afterFirst, 'churn-metrics', stage, 'cached'), stage).toBe(0);
      const seconds = total(afterFirst, 'mlcycle_stage_duration_seconds_sum', { model: 'churn-metrics', stage });
      expect(seconds, stage).toBeGreaterThan(0);
      expect(seconds, stage).toBeLessThan(300);
    }
    expect(afterFirst.find((s) => s.name === 'mlcycle_stage_duration_seconds_bucket' && s.labels.stage === 'train')?.labels).toMatchObject({
      workflowType: 'trainingPipeline',
      taskQueue: cpu,
    });
    // Every cached stage looked in the cache and found nothing.
    for (const stage of ['ingest', 'validate', 'train', 'evaluate']) {
      const misses = total(afterFirst, 'mlcycle_step_cache_misses_total', { stage }) - total(before, 'mlcycle_step_cache_misses_total', { stage });
      expect(misses, stage).toBe(1);
      expect(total(afterFirst, 'mlcycle_step_cache_hits_total', { stage }), stage).toBe(total(before, 'mlcycle_step_cache_hits_total', { stage }));
    }

    // The same inputs again: every stage is a cache hit.
    const second = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    expect(second.steps.map((s) => s.cached)).toEqual([true, true, true, true, true]);
    const afterSecond = await scrapeUntil(address, (s) => STAGES.every((stage) => stageCount(s, 'churn-metrics', stage, 'cached') === 1));
    for (const stage of STAGES) expect(stageCount(afterSecond, 'churn-metrics', stage, 'cached'), stage).toBe(1);
    const trainHits = total(afterSecond, 'mlcycle_step_cache_hits_total', { stage: 'train' }) - total(afterFirst, 'mlcycle_step_cache_hits_total', { stage: 'train' });
    expect(trainHits).toBe(1);
    expect(total(afterSecond, 'mlcycle_step_cache_hits_total', { stage: 'train', activityType: 'trainModel' })).toBeGreaterThanOrEqual(1);
    expect(total(afterSecond, 'temporal_workflow_completed', { task_queue: cpu, workflow_type: 'trainingPipeline' })).toBe(2);
  });

  it('counts the retry and the resume from a checkpoint of a training that crashed', async () => {
    const spec = await ws.spec('crash.yaml', (d) => {
      d.name = 'churn-crash';
      d.train = { trainer: 'command', command: ['node', 'crash-once.js'], params: {}, checkpointEvery: 2 };
      d.evaluate.thresholds = {};
      d.cache = false;
    });
    const before = await scrape(address);
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    expect(status.error).toBeUndefined();
    expect(status.status).toBe('completed');
    const train = status.steps.find((s) => s.name === 'train');
    expect(train).toMatchObject({ attempts: 2, resumedFrom: 2 });

    const resumes = (s: Sample[]) => total(s, 'mlcycle_training_resumes_total', { trainer: 'command' });
    const retries = (s: Sample[]) => total(s, 'mlcycle_activity_retries_total', { activityType: 'trainModel' });
    const after = await scrapeUntil(address, (s) => resumes(s) > resumes(before));
    expect(resumes(after) - resumes(before)).toBe(1);
    expect(retries(after) - retries(before)).toBe(1);
    // Only the crashed step was retried.
    expect(total(after, 'mlcycle_activity_retries_total', { activityType: 'evaluateModel' })).toBe(total(before, 'mlcycle_activity_retries_total', { activityType: 'evaluateModel' }));
    expect(stageCount(after, 'churn-crash', 'train', 'completed')).toBe(1);
  }, 180_000);
});
