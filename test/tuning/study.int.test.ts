import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { createMlcycleWorker } from '../../src/worker/worker';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { runCliAsync, spawnCli, waitForOutput } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { TEST_PERMISSIONS } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';

describe('hyperparameter studies on the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  const tuneSpec = (file: string, tune: Record<string, unknown>) =>
    ws.spec(file, (d) => {
      d.name = 'tuned';
      d.train = { trainer: 'logistic-regression', params: { learningRate: 0.1, epochs: 8 } };
      d.tune = tune;
    });

  it('grid: every combination runs once, the best is reported, and the CLI prints the documented JSON', async () => {
    const spec = await tuneSpec('grid.yaml', { strategy: 'grid', concurrency: 2, seed: 1, metric: 'auc', space: { learningRate: { values: [0.01, 0.3] }, epochs: { values: [2, 6] } } });
    const r = await runCliAsync(['tune', spec, '--wait', '--json'], env.cliEnv, 180_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { studyId: string; trials: Array<{ params: Record<string, number>; metric: number; state: string }>; best: { params: Record<string, number>; metric: number } };
    expect(out.trials).toHaveLength(4);
    expect(out.trials.every((t) => t.state === 'completed')).toBe(true);
    expect(out.trials.map((t) => `${t.params.learningRate}/${t.params.epochs}`).sort()).toEqual(['0.01/2', '0.01/6', '0.3/2', '0.3/6']);
    expect(out.best.metric).toBe(Math.max(...out.trials.map((t) => t.metric)));
    await captureHistory(env.client.temporal, out.studyId, 'grid');
    const result = await env.client.studyResult(out.studyId);
    const html = (await env.store.getBytes(result.leaderboard.htmlUri)).toString();
    expect(html).toContain('Parameter importance');
    expect(html).toContain('<svg');
  }, 200_000);

  it('random: the same seed suggests the same configurations', async () => {
    const tune = { strategy: 'random', trials: 4, concurrency: 4, seed: 11, metric: 'auc', space: { learningRate: { loguniform: [0.001, 0.5] }, epochs: { int: [2, 6] } } };
    const a = await env.client.studyResult((await env.client.startStudy(await tuneSpec('ra.yaml', tune))).studyId);
    const b = await env.client.studyResult((await env.client.startStudy(await tuneSpec('rb.yaml', tune))).studyId);
    expect(a.trials).toHaveLength(4);
    await captureHistory(env.client.temporal, a.studyId, 'random');
    expect(a.trials.map((t) => t.params)).toEqual(b.trials.map((t) => t.params));
    for (const t of a.trials) {
      expect(t.params.learningRate).toBeGreaterThanOrEqual(0.001);
      expect(t.params.learningRate).toBeLessThanOrEqual(0.5);
      expect(Number.isInteger(t.params.epochs)).toBe(true);
    }
  }, 200_000);

  it('asha: bad trials are cancelled at a rung and recorded as stopped', async () => {
    const spec = await tuneSpec('asha.yaml', {
      strategy: 'asha',
      trials: 9,
      concurrency: 3,
      seed: 5,
      metric: 'auc',
      space: { learningRate: { loguniform: [0.00001, 1] }, l2: { loguniform: [0.0001, 10] }, epochs: { int: [2, 18] } },
      asha: { minResource: 2, reductionFactor: 3 },
    });
    const result = await env.client.studyResult((await env.client.startStudy(spec)).studyId);
    const states = result.trials.map((t) => t.state);
    expect(states).toHaveLength(9);
    expect(states.filter((s) => s === 'stopped').length).toBeGreaterThan(0);
    expect(states.filter((s) => s === 'completed').length).toBeGreaterThan(0);
    expect(result.best).not.toBeNull();
    await captureHistory(env.client.temporal, result.studyId, 'asha');
    // ASHA trials are child workflows; one that finished and one cancelled at a rung.
    const trialOf = (state: string) => `${result.studyId}-trial-${result.trials.find((t) => t.state === state)?.id}`;
    await captureHistory(env.client.temporal, trialOf('completed'), 'asha-completed');
    await captureHistory(env.client.temporal, trialOf('stopped'), 'asha-stopped');
  }, 200_000);

  it('as a pipeline stage: the best configuration trains the registered model, with lineage back to the study', async () => {
    const spec = await tuneSpec('pipe.yaml', { strategy: 'random', trials: 3, concurrency: 3, seed: 2, metric: 'auc', space: { learningRate: { loguniform: [0.01, 0.5] }, epochs: { int: [2, 6] } } });
    const { workflowId } = await env.client.startPipeline(spec);
    const status = await waitForRun(env.client, workflowId);
    expect(status.error).toBeUndefined();
    expect(status.steps.map((s) => s.name)).toEqual(['ingest', 'validate', 'tune', 'train', 'evaluate', 'register']);
    await captureHistory(env.client.temporal, workflowId, 'tune-stage');
    await captureHistory(env.client.temporal, `${workflowId}-study`, 'pipeline-stage');
    const study = await env.client.studyResult(`${workflowId}-study`);
    const version = await createModelRegistry({ store: env.store }).getVersion('tuned', status.model?.version ?? 0);
    expect(version?.lineage).toMatchObject({ studyId: `${workflowId}-study`, trialId: String(study.best?.trialId) });
    expect(version?.lineage.params).toMatchObject({ learningRate: study.best?.params.learningRate, epochs: study.best?.params.epochs });
  }, 200_000);

  it('continues as new when a run reaches its trial budget, keeping every result', async () => {
    const spec = await tuneSpec('can.yaml', { strategy: 'random', trials: 7, concurrency: 2, seed: 3, metric: 'auc', space: { learningRate: { loguniform: [0.01, 0.5] }, epochs: { int: [2, 4] } } });
    const { studyId } = await env.client.startStudy(spec, { maxTrialsPerRun: 2 });
    const result = await env.client.studyResult(studyId);
    expect(result.runs).toBeGreaterThanOrEqual(3);
    expect(result.trials.map((t) => t.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(result.trials.every((t) => t.state === 'completed' && typeof t.metric === 'number')).toBe(true);
    await captureHistory(env.client.temporal, studyId, 'continue-as-new');
  }, 200_000);
});

describe('a study whose worker is killed', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    ws = await SpecWorkspace.create({ rows: 3000 });
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('completes on another worker without re-running any completed trial', async () => {
    const stack = inject('stack');
    const victim = spawnCli(['worker', '--queue', 'cpu'], env.cliEnv);
    await waitForOutput(victim, /worker ready/, 60_000);
    const spec = await ws.spec('kill.yaml', (d) => {
      d.name = 'tuned-kill';
      d.train = { trainer: 'logistic-regression', params: { epochs: 30 } };
      d.tune = { strategy: 'random', trials: 6, concurrency: 2, seed: 9, metric: 'auc', space: { learningRate: { loguniform: [0.01, 0.5] } } };
    });
    const { studyId } = await env.client.startStudy(spec);
    const handle = env.client.temporal.workflow.getHandle(studyId);
    // Kill once at least two trials have finished.
    for (let i = 0; i < 600; i++) {
      const board = await handle.query<{ trials: Array<{ state: string }> }>('leaderboard').catch(() => undefined);
      if ((board?.trials.filter((t) => t.state === 'completed').length ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = await handle.query<{ trials: Array<{ id: number; state: string }> }>('leaderboard');
    const completedBefore = before.trials.filter((t) => t.state === 'completed').map((t) => t.id);
    expect(completedBefore.length).toBeGreaterThanOrEqual(2);
    victim.kill('SIGKILL');

    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const rescuer = await createMlcycleWorker({ queue: 'cpu', queuePrefix: env.queuePrefix, connection, namespace: stack.namespace, s3: env.s3, keyring: env.keyring, permissions: TEST_PERMISSIONS, log: () => undefined });
    const running = rescuer.run();
    try {
      const result = await env.client.studyResult(studyId);
      expect(result.trials).toHaveLength(6);
      expect(result.trials.every((t) => t.state === 'completed')).toBe(true);
      // Each trial was scheduled exactly once and completed once: the trials finished before the
      // kill were not run again (only trials in flight at the kill are retried, as attempts).
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainTrialSegment');
      expect(scheduled).toHaveLength(6);
      const scheduledIds = new Set(scheduled.map((e) => String(e.eventId)));
      const completed = events.filter((e) => scheduledIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
      expect(completed).toHaveLength(6);
      const firstAttemptDone = events
        .filter((e) => e.activityTaskStartedEventAttributes?.attempt === 1)
        .map((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId));
      expect(firstAttemptDone.filter((id) => scheduledIds.has(id)).length).toBeGreaterThanOrEqual(completedBefore.length);
    } finally {
      rescuer.shutdown();
      await running;
      await connection.close();
    }
  }, 300_000);
});
