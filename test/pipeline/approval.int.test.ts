import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { createModelRegistry } from '../../src/registry/model-registry';
import { runCliAsync } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { captureHistory } from '../helpers/history-capture';
import { until } from '../helpers/until';

describe('approval gate, promotion and rollback on the real stack', () => {
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

  async function startGated(name: string, approval: Record<string, unknown>) {
    const spec = await ws.spec(`${name}.yaml`, (d) => {
      d.name = name;
      d.approval = { approvers: ['alice', 'bob', 'carol'], required: 2, timeout: '1h', ...approval };
      d.deploy = { alias: 'production', strategy: 'direct' };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    await until('the gate', async () => (await env.client.status(workflowId)).status === 'awaiting_approval');
    return workflowId;
  }

  it('promotes after a quorum (update + signal), records every decision, refuses bad votes without touching history', async () => {
    const workflowId = await startGated('gate-quorum', {});
    // Reviewers find it through the ApprovalStatus search attribute.
    await until('visibility', async () => (await env.client.pendingApprovals()).some((p) => p.workflowId === workflowId));

    await expect(env.client.decide(workflowId, { decision: 'approve', identity: 'mallory' })).rejects.toThrow(/"mallory" is not on the approver list/);
    const first = await env.client.decide(workflowId, { decision: 'approve', identity: 'alice', comment: 'metrics look good' });
    expect(first.status).toBe('Pending');
    await expect(env.client.decide(workflowId, { decision: 'approve', identity: 'alice' })).rejects.toThrow(/"alice" has already voted/);
    await expect(env.client.decide(workflowId, { decision: 'reject', identity: 'carol' })).rejects.toThrow(/a rejection needs a reason/);
    // The second vote arrives as a plain signal.
    await env.client.temporal.workflow.getHandle(workflowId).signal('approve', { identity: 'bob' });

    const status = await waitForRun(env.client, workflowId);
    await captureHistory(env.client.temporal, workflowId, 'approval-approved');
    expect(status.status).toBe('completed');
    expect(status.steps.find((s) => s.name === 'approval')?.summary).toContain('Approved');
    const registry = createModelRegistry({ store: env.store });
    expect(await registry.getAliases('gate-quorum')).toEqual({ production: status.model?.version });
    const audit = await registry.audit('gate-quorum');
    expect(audit.filter((a) => a.action === 'approve').map((a) => a.actor).sort()).toEqual(['alice', 'bob']);
    expect(audit.find((a) => a.actor === 'alice')?.detail).toMatchObject({ comment: 'metrics look good', via: 'update' });

    // Refused updates never reached history: only alice's accepted update is there.
    const history = await env.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1);
    // The gate is closed now: a late vote is refused.
    await expect(env.client.decide(workflowId, { decision: 'approve', identity: 'carol' })).rejects.toThrow(/refused/);
  });

  it('a rejection with a reason ends the run as rejected and promotes nothing', async () => {
    const workflowId = await startGated('gate-reject', {});
    await env.client.decide(workflowId, { decision: 'reject', identity: 'carol', reason: 'trained on last quarter only' });
    const status = await waitForRun(env.client, workflowId);
    await captureHistory(env.client.temporal, workflowId, 'approval-rejected');
    expect(status.status).toBe('rejected');
    expect(status.steps.find((s) => s.name === 'deploy')?.state).toBe('skipped');
    await expect(createModelRegistry({ store: env.store }).getAliases('gate-reject')).resolves.toEqual({});
    const audit = await createModelRegistry({ store: env.store }).audit('gate-reject');
    expect(audit.find((a) => a.action === 'reject')).toMatchObject({ actor: 'carol', detail: expect.objectContaining({ reason: 'trained on last quarter only' }) });
  });

  it.each([
    ['approve', 'completed', true],
    ['reject', 'rejected', false],
  ] as const)('applies onTimeout: %s at the deadline', async (onTimeout, outcome, promoted) => {
    const name = `gate-timeout-${onTimeout}`;
    const workflowId = await startGated(name, { timeout: '3s', remindAfter: '1s', onTimeout, required: 1 });
    const status = await waitForRun(env.client, workflowId);
    await captureHistory(env.client.temporal, workflowId, `approval-timeout-${onTimeout}`);
    expect(status.status).toBe(outcome);
    expect(status.steps.find((s) => s.name === 'approval')?.summary).toContain('TimedOut');
    const aliases = await createModelRegistry({ store: env.store }).getAliases(name);
    expect(Boolean(aliases.production)).toBe(promoted);
    const audit = await createModelRegistry({ store: env.store }).audit(name);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['approval-reminder', 'approval-timeout']));
  });

  it('notifies the webhook on request, reminder and outcome, retrying a failing endpoint with one id per event', async () => {
    const received: Array<{ id: string; event: string; key: string | undefined }> = [];
    let failuresLeft = 2;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failuresLeft-- > 0) {
          res.writeHead(503).end();
          return;
        }
        const parsed = JSON.parse(body) as { id: string; event: string };
        received.push({ id: parsed.id, event: parsed.event, key: req.headers['idempotency-key'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as AddressInfo).port;
    try {
      const workflowId = await startGated('gate-notify', { timeout: '4s', remindAfter: '1s', onTimeout: 'reject', required: 1, notify: { webhook: `http://127.0.0.1:${port}/hook` } });
      const status = await waitForRun(env.client, workflowId);
      await captureHistory(env.client.temporal, workflowId, 'approval-notify');
      expect(status.status).toBe('rejected');
      expect(received.map((r) => r.event).sort()).toEqual(['approval.reminder', 'approval.requested', 'approval.timedout']);
      for (const r of received) expect(r.key).toBe(r.id);
      expect(new Set(received.map((r) => r.id)).size).toBe(3);
    } finally {
      hook.close();
    }
  });

  it('the CLI refuses an unauthorized approval with the validator message; promote and rollback move the alias', async () => {
    const workflowId = await startGated('gate-cli', { required: 1 });
    const cliEnv = env.cliEnv;
    const denied = await runCliAsync(['approve', workflowId, '--as', 'mallory'], cliEnv);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('"mallory" is not on the approver list');
    const ok = await runCliAsync(['approve', workflowId, '--as', 'bob', '--comment', 'ship it'], cliEnv);
    expect(ok.code).toBe(0);
    const first = await waitForRun(env.client, workflowId);
    expect(first.status).toBe('completed');

    // A second version, promoted by hand, then rolled back to the first.
    const second = await waitForRun(env.client, (await env.client.startPipeline(await ws.spec('gate-cli-2.yaml', (d) => {
      d.name = 'gate-cli';
      d.train.params.epochs = 20;
      delete d.evaluate.compareToChampion;
    }), { cache: false })).workflowId);
    expect(second.model?.version).toBe(2);
    const promote = await runCliAsync(['models', 'promote', 'gate-cli', '2', '--alias', 'production', '--as', 'dana'], cliEnv);
    expect(promote.stdout).toContain('production → v2 (was v1)');
    const rollback = await runCliAsync(['models', 'rollback', 'gate-cli', '--as', 'dana', '--reason', 'p99 regression'], cliEnv);
    expect(rollback.stdout).toContain('rolled back v2 → v1');
    const registry = createModelRegistry({ store: env.store });
    expect(await registry.getAliases('gate-cli')).toEqual({ production: 1 });
    const moves = (await registry.audit('gate-cli')).filter((a) => a.alias === 'production');
    expect(moves.map((a) => [a.from ?? null, a.to ?? null])).toEqual([[null, 1], [1, 2], [2, 1]]);
    const unknown = await runCliAsync(['models', 'promote', 'gate-cli', '9'], cliEnv);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('has no version 9');
  }, 180_000);
});
