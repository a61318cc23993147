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
import { registerApprovers, sign } from '../helpers/approvers';
import { generateApproverKey } from '../../src/approval/approver-keys';
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';

describe('approval gate, promotion and rollback on the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let keys: Map<string, KeyObject>;
  const key = (name: string) => keys.get(name)!;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
    // mallory has a registered key but is on no gate's approver list.
    keys = await registerApprovers(env.store, ['alice', 'bob', 'carol', 'mallory']);
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

    await expect(env.client.decide(workflowId, { decision: 'approve', approver: 'mallory' }, key('mallory'))).rejects.toThrow(/"mallory" is not on the approver list/);
    // alice's name with bob's key: the signature does not verify.
    await expect(env.client.decide(workflowId, { decision: 'approve', approver: 'alice' }, key('bob'))).rejects.toThrow(/bad signature/);
    const first = await env.client.decide(workflowId, { decision: 'approve', approver: 'alice', comment: 'metrics look good' }, key('alice'));
    expect(first.gate?.status).toBe('Pending');
    await expect(env.client.decide(workflowId, { decision: 'approve', approver: 'alice' }, key('alice'))).rejects.toThrow(/"alice" has already voted/);
    await expect(env.client.decide(workflowId, { decision: 'reject', approver: 'carol' }, key('carol'))).rejects.toThrow(/a rejection needs a reason/);
    // The second vote arrives as a signal carrying a signed statement.
    const handle = env.client.temporal.workflow.getHandle(workflowId);
    const { runId } = await handle.describe();
    const gate = (await env.client.pendingApprovals()).find((p) => p.workflowId === workflowId)!.gate!;
    await handle.signal('approve', sign(key('bob'), { workflowId, runId, model: gate.model, version: gate.version, decision: 'approve', approver: 'bob' }));

    const status = await waitForRun(env.client, workflowId);
    await captureHistory(env.client.temporal, workflowId, 'approval-signed-approved');
    expect(status.status).toBe('completed');
    expect(status.steps.find((s) => s.name === 'approval')?.summary).toContain('Approved');
    const registry = createModelRegistry({ store: env.store });
    expect(await registry.getAliases('gate-quorum')).toEqual({ production: status.model?.version });
    const audit = await registry.audit('gate-quorum');
    expect(audit.filter((a) => a.action === 'approve').map((a) => a.actor).sort()).toEqual(['alice', 'bob']);
    expect(audit.find((a) => a.actor === 'alice')?.detail).toMatchObject({ comment: 'metrics look good', via: 'update', statement: expect.stringContaining('"approver":"alice"'), signature: expect.any(String) });
    // Every decision in the log re-verifies against the directory.
    const verify = await runCliAsync(['audit', 'verify', 'gate-quorum', '--json'], env.cliEnv);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ decisions: 2, verified: 2, failed: [] });

    // Refused updates never reached history: only alice's accepted update is there.
    const history = await env.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1);
    // The gate is closed now: a late vote is refused.
    await expect(env.client.decide(workflowId, { decision: 'approve', approver: 'carol' }, key('carol'))).rejects.toThrow(/refused/);
  });

  it('a rejection with a reason ends the run as rejected and promotes nothing', async () => {
    const workflowId = await startGated('gate-reject', {});
    await env.client.decide(workflowId, { decision: 'reject', approver: 'carol', reason: 'trained on last quarter only' }, key('carol'));
    const status = await waitForRun(env.client, workflowId);
    await captureHistory(env.client.temporal, workflowId, 'approval-signed-rejected');
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
    await captureHistory(env.client.temporal, workflowId, `approval-signed-timeout-${onTimeout}`);
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
    // Keys as an approver makes them: keygen writes the private key 0600 and prints the public key.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-approvers-'));
    const cliEnv = { ...env.cliEnv, XDG_CONFIG_HOME: dir };
    const gen = await runCliAsync(['approvers', 'keygen', 'dave'], cliEnv);
    expect(gen.code, gen.stderr).toBe(0);
    const daveFile = path.join(dir, 'mlcycle', 'approvers', 'dave.key');
    expect((await fs.stat(daveFile)).mode & 0o777).toBe(0o600);
    expect(gen.stdout.trim()).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect((await runCliAsync(['approvers', 'add', 'dave', gen.stdout.trim()], cliEnv)).code).toBe(0);
    const listed = JSON.parse((await runCliAsync(['approvers', 'list', '--json'], cliEnv)).stdout) as { approvers: Array<{ name: string; status: string }> };
    expect(listed.approvers.find((a) => a.name === 'dave')?.status).toBe('active');
    const malloryFile = path.join(dir, 'mallory.key');
    await generateApproverKey(malloryFile);

    const workflowId = await startGated('gate-cli', { approvers: ['bob', 'dave'], required: 1 });
    // mallory's fresh key is in no directory; dave's name with it does not verify either.
    const denied = await runCliAsync(['approve', workflowId, '--as', 'dave', '--key', malloryFile], cliEnv);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('bad signature');
    const ok = await runCliAsync(['approve', workflowId, '--as', 'dave', '--comment', 'ship it'], cliEnv);
    expect(ok.code, ok.stderr).toBe(0);
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
    // Eleven CLI processes from source: minutes on a loaded two-core machine.
  }, 360_000);
});
