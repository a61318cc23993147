import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { GuardrailReading } from '../../src/deploy/guardrails';
import type { DeploySpec } from '../../src/spec/pipeline-spec';
import type { DeploymentInput, DeploymentResult, deploymentWorkflow } from '../../workflows/deployment';
import { timeSkippingSuite } from '../helpers/time-skipping';

const MINUTE = 60_000;

interface Outcome {
  result?: DeploymentResult;
  error?: unknown;
}

interface Call {
  name: string;
  atMs: number;
  input: Record<string, unknown>;
}

/** The saga's activities, mocked: `stable` is what the alias held; `reading(i)` is the i-th guardrail reading (or throws). */
function mockActivities(calls: Call[], opts: { stable: number | null; reading: (i: number) => Partial<GuardrailReading> }) {
  const seen = (name: string, input: object) => calls.push({ name, atMs: Context.current().info.currentAttemptScheduledTimestampMs, input: { ...input } });
  let readings = 0;
  return {
    async startCanary(input: object) {
      seen('startCanary', input);
      return { stable: opts.stable };
    },
    async checkGuardrails(input: { version: number }): Promise<GuardrailReading> {
      seen('checkGuardrails', input);
      const r = opts.reading(readings++);
      return { version: input.version, requests: 50, errors: 0, errorRate: 0, p99Ms: 20, judged: true, breached: false, ...r };
    },
    async finishCanary(input: { outcome: string; stable: number | null; version: number }) {
      seen('finishCanary', input);
      return { serving: input.outcome === 'promote' ? input.version : input.stable };
    },
    async promoteModel(input: object) {
      seen('promoteModel', input);
      return { moved: true, previous: null };
    },
  };
}

const canary = (bake: string): DeploySpec => ({
  alias: 'production',
  strategy: 'canary',
  canary: { percent: 10, bake, rollbackIf: { errorRate: 0.05 }, serviceUrl: 'http://127.0.0.1:8080', minRequests: 20 },
});

/**
 * The deployment saga on the time-skipping test server with mocked activities: the canary bakes
 * on a durable timer (minutes of workflow time in a second), a breach rolls back at once, a
 * failure mid-bake compensates by restoring the stable version.
 */
describe('deployment saga with time skipping', () => {
  const suite = timeSkippingSuite();


  async function deploy(spec: DeploySpec, opts: Parameters<typeof mockActivities>[1]) {
    const calls: Call[] = [];
    const taskQueue = `deploy-${randomUUID()}`;
    const worker = await Worker.create({ connection: suite.env.nativeConnection, namespace: suite.env.namespace ?? 'default', taskQueue, workflowBundle: suite.bundle, activities: mockActivities(calls, opts) });
    const input: DeploymentInput = { model: 'churn', version: 5, deploy: spec, queue: taskQueue, decisionId: `decision-${randomUUID()}` };
    const startedMs = await suite.env.currentTimeMs();
    const outcome = await worker.runUntil(
      suite.env.client.workflow
        .execute<typeof deploymentWorkflow>('deploymentWorkflow', { taskQueue, workflowId: `deploy-${randomUUID()}`, args: [input] })
        .then<Outcome, Outcome>((result) => ({ result }), (error: unknown) => ({ error })),
    );
    const minutes = (c: Call | undefined) => (c ? (c.atMs - startedMs) / MINUTE : NaN);
    return { ...outcome, calls, minutes };
  }

  it('bakes 10m on a durable timer, reading the guardrails every 30 s, then promotes', async () => {
    const { result, calls, minutes } = await deploy(canary('10m'), { stable: 4, reading: () => ({}) });
    expect(result).toMatchObject({ outcome: 'promoted', strategy: 'canary', serving: 5, reason: 'canary baked 10m clean (20 judged readings)' });
    const reads = calls.filter((c) => c.name === 'checkGuardrails');
    expect(reads).toHaveLength(20);
    expect(minutes(reads[0])).toBeCloseTo(0.5, 1);
    const finish = calls.find((c) => c.name === 'finishCanary');
    expect(finish?.input).toMatchObject({ outcome: 'promote', stable: 4, version: 5 });
    expect(minutes(finish)).toBeGreaterThanOrEqual(10);
    expect(calls.some((c) => c.name === 'promoteModel')).toBe(false);
  });

  it('rolls back at the first breached reading, with the reason recorded', async () => {
    const { result, calls, minutes } = await deploy(canary('2h'), {
      stable: 4,
      reading: (i) => (i === 2 ? { breached: true, errorRate: 0.2, reason: 'error rate 0.2 > 0.05' } : {}),
    });
    expect(result).toMatchObject({ outcome: 'rolled_back', serving: 4, reason: 'guardrail breach: error rate 0.2 > 0.05' });
    expect(calls.filter((c) => c.name === 'checkGuardrails')).toHaveLength(3);
    const finish = calls.find((c) => c.name === 'finishCanary');
    expect(finish?.input).toMatchObject({ outcome: 'rollback', stable: 4 });
    // Three 30 s steps of a 2 h bake: the rollback does not wait for the bake to end.
    expect(minutes(finish)).toBeCloseTo(1.5, 1);
  });

  it('compensates a failure mid-bake by restoring the stable version, then fails', async () => {
    const { error, calls } = await deploy(canary('1h'), {
      stable: 4,
      reading: (i) => {
        if (i === 1) throw ApplicationFailure.create({ message: 'metrics endpoint answered garbage', type: 'DATA_INVALID', nonRetryable: true });
        return {};
      },
    });
    expect(error).toBeDefined();
    const finish = calls.filter((c) => c.name === 'finishCanary');
    expect(finish).toHaveLength(1);
    expect(finish[0]!.input).toMatchObject({ outcome: 'rollback', stable: 4 });
    expect(String(finish[0]!.input.reason)).toMatch(/^deployment failed: /);
  });

  it('promotes directly when nothing served the alias before (first deployment)', async () => {
    const { result, calls } = await deploy(canary('1h'), { stable: null, reading: () => ({}) });
    expect(result).toMatchObject({ outcome: 'promoted', serving: 5, reason: 'first deployment: nothing to canary against' });
    expect(calls.map((c) => c.name)).toEqual(['startCanary', 'promoteModel']);
  });
});
