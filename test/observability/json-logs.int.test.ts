import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { spawnCli, waitForOutput } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('a worker process with MLCYCLE_LOG_FORMAT=json', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    ws = await SpecWorkspace.create({ rows: 800 });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await exited(worker, 10_000);
    }
    await env?.close();
    await ws?.remove();
  });

  it('writes one JSON object per stderr line, and activity lines carry the workflow and run ids', async () => {
    // An empty level is unset: JSON's default (INFO) applies whatever the developer's shell says.
    worker = spawnCli(['worker', '--queue', 'cpu'], { ...env.cliEnv, MLCYCLE_LOG_FORMAT: 'json', MLCYCLE_LOG_LEVEL: '' });
    let stderr = '';
    let stdout = '';
    worker.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    worker.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    await waitForOutput(worker, /worker ready on queue cpu/, 180_000);

    const spec = await ws.spec('logs.yaml', (d) => {
      d.name = 'churn-logs';
      d.evaluate.thresholds = {};
    });
    const first = await env.client.startPipeline(spec);
    expect((await waitForRun(env.client, first.workflowId)).status).toBe('completed');
    // The second run reuses every step, and each activity says so in its log.
    const second = await env.client.startPipeline(spec);
    expect((await waitForRun(env.client, second.workflowId)).status).toBe('completed');

    worker.kill('SIGTERM');
    expect(await exited(worker, 60_000)).toBe(0);

    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stderr line is not JSON: ${line}`);
      }
    });
    expect(stdout).toBe('');
    for (const r of records) {
      expect(typeof r.message).toBe('string');
      expect(['INFO', 'WARN', 'ERROR']).toContain(r.level);
      expect(new Date(String(r.time)).toISOString()).toBe(r.time);
      expect(r).not.toHaveProperty('taskToken');
    }
    // mlcycle's own line and the SDK's lines share the format.
    expect(records).toContainEqual(expect.objectContaining({ level: 'INFO', component: 'mlcycle', message: expect.stringMatching(/^worker ready on queue cpu/) }));
    expect(records.some((r) => r.sdkComponent === 'worker' && r.taskQueue === `${env.queuePrefix}cpu`)).toBe(true);

    const hits = records.filter((r) => r.message === 'step cache hit: reusing the previous output');
    expect(hits.map((r) => r.activityType).sort()).toEqual(['evaluateModel', 'ingestDataset', 'trainModel', 'validateDataset']);
    for (const hit of hits) {
      expect(hit).toMatchObject({
        level: 'INFO',
        sdkComponent: 'activity',
        workflowId: second.workflowId,
        runId: second.runId,
        workflowRunId: second.runId,
        workflowType: 'trainingPipeline',
        taskQueue: `${env.queuePrefix}cpu`,
        attempt: 1,
      });
      expect(hit.stage).toBe(String(hit.activityType).replace(/(Dataset|Model)$/, ''));
    }
  }, 420_000);
});
