import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { DriftCheckResult } from '../../workflows/pipeline-types';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';
import type { MonitorCheckInput, monitorCheck } from '../../workflows/monitor';
import { timeSkippingSuite } from '../helpers/time-skipping';

interface Seen {
  names: string[];
  audits: Array<{ action: string; detail?: Record<string, unknown> }>;
  notices: Array<{ event: string; id: string }>;
}

/**
 * The monitor check's activities, mocked: the drift verdict, the cooldown claim; a retrain it
 * starts (the real training pipeline, as a child) stays in ingest until its worker shuts down, so
 * it is still running when the next check comes.
 */
function mockActivities(seen: Seen, opts: { verdict: DriftCheckResult['verdict']; allowed: boolean }) {
  return {
    async checkDrift(): Promise<DriftCheckResult> {
      seen.names.push('checkDrift');
      return { verdict: opts.verdict, version: 2, samples: 500, drifted: opts.verdict === 'drift' ? ['tenure_months'] : [], missing: [], htmlUri: 's3://b/report.html' };
    },
    async notify(input: { event: string; id: string }) {
      seen.names.push('notify');
      seen.notices.push({ event: input.event, id: input.id });
    },
    async claimRetrain() {
      seen.names.push('claimRetrain');
      return opts.allowed ? { allowed: true, reason: 'claimed' } : { allowed: false, reason: 'cooldown: last retrain 2h ago, cooldown 24h' };
    },
    async recordAudit(input: { action: string; detail?: Record<string, unknown> }) {
      seen.names.push('recordAudit');
      seen.audits.push({ action: input.action, ...(input.detail ? { detail: input.detail } : {}) });
    },
    async ingestDataset() {
      seen.names.push('ingestDataset');
      const signal = Context.current().cancellationSignal;
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('worker shut down'))));
    },
  };
}

/** The scheduled monitor check with mocked activities: verdict, alert, cooldown, one retrain at a time. */
describe('monitor check with mocked activities', () => {
  const suite = timeSkippingSuite();


  async function check(model: string, opts: { verdict: DriftCheckResult['verdict']; allowed: boolean }) {
    const seen: Seen = { names: [], audits: [], notices: [] };
    const taskQueue = `monitor-${randomUUID()}`;
    const spec = parsePipelineSpec({
      apiVersion: 'mlcycle/v1',
      name: model,
      data: { source: 'file:///data/churn.csv', target: 'churned', schema: 'infer' },
      train: { trainer: 'logistic-regression' },
      monitor: { every: '1h', notify: { webhookEnv: 'HOOK_URL' } },
    });
    const input: MonitorCheckInput = {
      model,
      monitor: spec.monitor!,
      retrain: { spec, source: spec.data.source, codeVersion: 'test', cache: true, queues: { cpu: taskQueue, gpu: taskQueue } },
    };
    const worker = await Worker.create({ connection: suite.env.nativeConnection, namespace: suite.env.namespace ?? 'default', taskQueue, workflowBundle: suite.bundle, activities: mockActivities(seen, opts), shutdownGraceTime: '100ms' });
    const checkId = `${model}-check-${randomUUID().slice(0, 8)}`;
    const result = await worker.runUntil(suite.env.client.workflow.execute<typeof monitorCheck>('monitorCheck', { taskQueue, workflowId: checkId, args: [input] }));
    return { result, seen, checkId };
  }

  it('on drift: alerts once, claims the cooldown, starts the retrain and records it', async () => {
    const { result, seen, checkId } = await check('churn-a', { verdict: 'drift', allowed: true });
    expect(result).toMatchObject({ verdict: 'drift', alerted: true, retrain: { started: true, workflowId: 'churn-a-retrain', reason: 'drift in tenure_months' } });
    expect(seen.notices).toEqual([{ event: 'monitor.drift', id: `${checkId}/alert` }]);
    expect(seen.audits).toEqual([{ action: 'retrain-started', detail: { check: checkId, reason: 'drift in tenure_months' } }]);
    const retrain = await suite.env.client.workflow.getHandle('churn-a-retrain').describe();
    expect(retrain.type).toBe('trainingPipeline');
    expect(retrain.status.name).toBe('RUNNING');
  });

  it('never starts a second retrain of a model while one runs', async () => {
    const { result, seen } = await check('churn-a', { verdict: 'drift', allowed: true });
    expect(result.retrain).toEqual({ started: false, workflowId: 'churn-a-retrain', reason: 'a retrain of this model is already running' });
    expect(seen.audits.map((a) => a.action)).toEqual(['retrain-skipped']);
    await suite.env.client.workflow.getHandle('churn-a-retrain').terminate('test over');
  });

  it('within the cooldown: alerts but does not retrain', async () => {
    const { result, seen } = await check('churn-b', { verdict: 'drift', allowed: false });
    expect(result).toMatchObject({ alerted: true, retrain: { started: false, reason: 'cooldown: last retrain 2h ago, cooldown 24h' } });
    expect(seen.names).toEqual(['checkDrift', 'notify', 'claimRetrain']);
  });

  it('without drift: no alert, no claim, no retrain', async () => {
    const { result, seen } = await check('churn-c', { verdict: 'no_drift', allowed: true });
    expect(result).toMatchObject({ verdict: 'no_drift', alerted: false, retrain: { started: false, reason: 'no retrain: no_drift' } });
    expect(seen.names).toEqual(['checkDrift']);
  });
});
