import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';

/**
 * A stand-in for a user's Python/PyTorch script: reads the dataset mlcycle hands it, reports
 * metrics through the line protocol, checkpoints, and writes its model into the output folder.
 */
const TRAIN_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const rows = fs.readFileSync(process.env.MLCYCLE_DATA_FILE, 'utf8').trim().split('\\n').length - 1;
const epochs = Number(process.env.MLCYCLE_PARAM_EPOCHS);
const say = (m) => console.log('MLCYCLE ' + JSON.stringify(m));
for (let epoch = 1; epoch <= epochs; epoch++) {
  say({ type: 'metric', epoch, total: epochs, name: 'loss', value: 1 / epoch });
  if (epoch % 2 === 0) {
    const dir = path.join(process.env.MLCYCLE_CHECKPOINT_DIR, 'epoch-' + epoch);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ epoch }));
    say({ type: 'checkpoint', epoch, path: 'epoch-' + epoch });
  }
}
// Printed metrics are training metrics: mlcycle scores the test rows itself. This trainer cannot
// export ONNX, so it writes its predictions for them (a constant: auc 0.5, whatever it prints).
const schema = JSON.parse(fs.readFileSync(process.env.MLCYCLE_SCHEMA_FILE, 'utf8'));
fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'predictions.json'),
  JSON.stringify({ format: 'mlcycle-predictions/v1', task: schema.task, predictions: new Array(schema.rows.test).fill(0.7) }));
say({ type: 'metric', name: 'auc', value: 0.91 });
say({ type: 'metric', name: 'accuracy', value: 0.88 });
say({ type: 'metric', name: 'f1', value: 0.7 });
fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'model.json'), JSON.stringify({ rows, gpu: process.env.CUDA_VISIBLE_DEVICES ?? null }));
console.log('trained on ' + rows + ' rows');
`;

const FAILING_SCRIPT = `
console.log('loading data');
console.error('RuntimeError: CUDA out of memory (simulated)');
process.exit(3);
`;

describe('the command trainer on the gpu queue', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 800 });
    await ws.writeFile('train.js', TRAIN_SCRIPT);
    await ws.writeFile('fail.js', FAILING_SCRIPT);
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('runs the program on the gpu queue, streams its metrics and uploads its outputs', async () => {
    const spec = await ws.spec('cmd.yaml', (d) => {
      d.name = 'churn-cmd';
      d.train = { trainer: 'command', command: ['node', 'train.js'], params: { epochs: 6 }, resources: { queue: 'gpu' }, checkpointEvery: 2 };
      d.evaluate = { metrics: ['auc', 'accuracy', 'f1', 'recall'] };
    });
    const { workflowId } = await env.client.startPipeline(spec);
    const status = await waitForRun(env.client, workflowId);
    expect(status.error).toBeUndefined();
    expect(status.status).toBe('completed');
    await captureHistory(env.client.temporal, workflowId, 'command-gpu');

    // The training activity was scheduled on the gpu queue, everything else on cpu.
    const history = await env.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a): a is NonNullable<typeof a> => Boolean(a))
      .map((a) => [a.activityType?.name, a.taskQueue?.name]);
    expect(scheduled).toContainEqual(['trainModel', `${env.queuePrefix}gpu`]);
    expect(scheduled).toContainEqual(['evaluateModel', `${env.queuePrefix}cpu`]);

    const version = await createModelRegistry({ store: env.store }).getVersion('churn-cmd', 1);
    // Scored by mlcycle from the trainer-written predictions (all 0.7, so every row is called
    // positive), not the auc 0.91 the program printed.
    expect(version?.metrics.auc).toBe(0.5);
    expect(version?.metrics.recall).toBe(1);
    const report = await env.store.getJson<{ scoredFrom: string; trainingMetrics: Record<string, number> }>(version?.reports.evaluationJson ?? '');
    expect(report.scoredFrom).toBe('trainer-predictions');
    expect(report.trainingMetrics.auc).toBe(0.91);
    expect((await env.store.getBytes(version?.reports.evaluation ?? '')).toString()).toContain('scored from trainer-written predictions');
    const outputs = await env.store.getJson<{ files: Record<string, { uri: string }> }>(version?.modelUri ?? '');
    const model = await env.store.getJson<{ rows: number }>(outputs.files['model.json']?.uri ?? '');
    expect(model.rows).toBe(800);
  });

  it('fails with the program exit code and last output lines after its attempts', async () => {
    const spec = await ws.spec('fail.yaml', (d) => {
      d.name = 'churn-cmd-fail';
      d.train = { trainer: 'command', command: ['node', 'fail.js'], maxAttempts: 2 };
    });
    const status = await waitForRun(env.client, (await env.client.startPipeline(spec)).workflowId);
    await captureHistory(env.client.temporal, status.workflowId, 'command-failed');
    expect(status.status).toBe('failed');
    expect(status.error).toContain('CUDA out of memory (simulated)');
    expect(status.error).toMatch(/exit(ed)? (with )?(code |status )?3/);
    expect(status.steps.find((s) => s.name === 'train')).toMatchObject({ state: 'failed' });
  });
});
