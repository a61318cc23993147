import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { approveSignal } from '../../workflows/approval-definitions';
import { gateApproved } from '../../workflows/approval-gate';
import type { ApprovalSpec } from '../../src/spec/pipeline-spec';
import { timeSkippingSuite } from '../helpers/time-skipping';
import type { approvalGateWorkflow } from './fixtures/test-workflows';

const DAY = 86_400_000;

/** What the gate's mocked activities saw, each stamped with the (skipped) server time it was scheduled at. */
interface Seen {
  audits: Array<{ action: string; atMs: number; detail?: Record<string, unknown> }>;
  notices: Array<{ event: string; atMs: number }>;
}

function mockActivities(seen: Seen) {
  const at = () => Context.current().info.currentAttemptScheduledTimestampMs;
  return {
    async recordAudit(input: { action: string; detail?: Record<string, unknown> }) {
      seen.audits.push({ action: input.action, atMs: at(), ...(input.detail ? { detail: input.detail } : {}) });
    },
    async notify(input: { event: string }) {
      seen.notices.push({ event: input.event, atMs: at() });
    },
  };
}

const spec = (over: Partial<ApprovalSpec> = {}): ApprovalSpec => ({
  approvers: ['alice', 'bob'],
  required: 1,
  timeout: '7d',
  remindAfter: '1d',
  onTimeout: 'reject',
  notify: { webhookEnv: 'HOOK_URL' },
  ...over,
});

/**
 * The approval gate's timers on Temporal's time-skipping test server, with mocked activities: a
 * `7d` gate's reminder, deadline and default outcome, in seconds of wall time.
 */
describe('approval gate with time skipping', () => {
  const suite = timeSkippingSuite();


  async function runGate(approval: ApprovalSpec, during?: (workflowId: string) => Promise<void>, withStart?: { signal: typeof approveSignal; signalArgs: [unknown] }) {
    const seen: Seen = { audits: [], notices: [] };
    const taskQueue = `gate-${randomUUID()}`;
    const worker = await Worker.create({ connection: suite.env.nativeConnection, namespace: suite.env.namespace ?? 'default', taskQueue, workflowBundle: suite.bundle, activities: mockActivities(seen) });
    const workflowId = `gate-${randomUUID()}`;
    const startedMs = (await suite.env.currentTimeMs());
    const gate = await worker.runUntil(async () => {
      const options = { taskQueue, workflowId, args: [{ spec: approval, model: 'churn', version: 3, metrics: { auc: 0.9 }, reports: {}, queue: taskQueue }] as Parameters<typeof approvalGateWorkflow> };
      const handle = withStart
        ? await suite.env.client.workflow.signalWithStart<typeof approvalGateWorkflow, [unknown]>('approvalGateWorkflow', { ...options, ...withStart })
        : await suite.env.client.workflow.start<typeof approvalGateWorkflow>('approvalGateWorkflow', options);
      await during?.(workflowId);
      return handle.result();
    });
    const rel = (ms: number) => (ms - startedMs) / DAY;
    return { gate, seen, startedMs, rel };
  }

  it('reminds after 1d, times out after 7d and takes the default outcome (reject)', async () => {
    const wall = Date.now();
    const { gate, seen, startedMs, rel } = await runGate(spec());
    expect(gate.status).toBe('TimedOut');
    expect(gateApproved(gate)).toBe(false);
    expect(Date.parse(gate.deadline) - startedMs).toBeGreaterThanOrEqual(7 * DAY - 1000);
    expect(Date.parse(gate.deadline) - startedMs).toBeLessThanOrEqual(7 * DAY + 1000);

    const reminder = seen.audits.find((a) => a.action === 'approval-reminder');
    const timeout = seen.audits.find((a) => a.action === 'approval-timeout');
    expect(reminder?.detail).toEqual({ pending: ['alice', 'bob'] });
    expect(rel(reminder!.atMs)).toBeCloseTo(1, 2);
    expect(timeout?.detail).toEqual({ outcome: 'reject', votes: 0 });
    expect(rel(timeout!.atMs)).toBeCloseTo(7, 2);
    expect(seen.notices.map((n) => n.event)).toEqual(['approval.requested', 'approval.reminder', 'approval.timedout']);
    expect(rel(seen.notices[0]!.atMs)).toBeCloseTo(0, 2);
    // A week of workflow time, not of wall time.
    expect(Date.now() - wall).toBeLessThan(60_000);
  });

  it('approves by default when the spec says onTimeout: approve', async () => {
    const { gate, seen } = await runGate(spec({ onTimeout: 'approve', remindAfter: undefined }));
    expect(gate.status).toBe('TimedOut');
    expect(gateApproved(gate)).toBe(true);
    expect(seen.audits.map((a) => a.action)).toEqual(['approval-timeout']);
    expect(seen.audits[0]!.detail).toEqual({ outcome: 'approve', votes: 0 });
  });

  it('a vote on day 2 closes the gate: one reminder before it, no timeout after it', async () => {
    const { gate, seen, rel } = await runGate(spec(), async (workflowId) => {
      await suite.env.sleep(2 * DAY);
      await suite.env.client.workflow.getHandle(workflowId).signal(approveSignal, { identity: 'bob', comment: 'looks good' });
    });
    expect(gate.status).toBe('Approved');
    expect(gate.votes).toMatchObject([{ identity: 'bob', decision: 'approve', via: 'signal' }]);
    expect(seen.audits.map((a) => a.action)).toEqual(['approval-reminder', 'approve']);
    expect(rel(seen.audits[1]!.atMs)).toBeGreaterThanOrEqual(2 - 0.01);
    expect(rel(seen.audits[1]!.atMs)).toBeLessThan(3);
    expect(seen.notices.map((n) => n.event)).toEqual(['approval.requested', 'approval.reminder', 'approval.approved']);
  });

  it('a vote before the reminder sends no reminder at all', async () => {
    // Sent with the start, so it is in the first workflow task whatever the server's clock does.
    const { gate, seen } = await runGate(spec(), undefined, { signal: approveSignal, signalArgs: [{ identity: 'alice' }] });
    expect(gate.status).toBe('Approved');
    expect(gate.votes).toMatchObject([{ identity: 'alice', decision: 'approve' }]);
    expect(seen.audits.map((a) => a.action)).toEqual(['approve']);
    expect(seen.notices.map((n) => n.event)).toEqual(['approval.requested', 'approval.approved']);
  });
});
