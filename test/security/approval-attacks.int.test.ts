/**
 * The approval findings of the security review, reproduced as they were made (the stock Temporal
 * CLI, a raw client, the mlcycle CLI without keys) and now refused, with the run still healthy:
 * a later, properly signed decision completes it.
 */
import { execFile } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { ModelCatalog } from '../../src/client/model-catalog';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings } from '../../src/config/env';
import { createModelRegistry, type ModelRegistry } from '../../src/registry/model-registry';
import { createTrustRecords } from '../../src/registry/trust-records';
import { TEMPORAL_CLI, resolveBinary } from '../../src/stack/binaries';
import type { PendingGate } from '../../workflows/approval-definitions';
import { approvalQuery } from '../../workflows/approval-definitions';
import { newKey, registerApprovers, sign } from '../helpers/approvers';
import { runCliAsync } from '../helpers/cli';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { until } from '../helpers/until';

describe('approval attacks from the security review', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let keys: Map<string, KeyObject>;
  let temporalBin: string;
  let home: string;
  const key = (n: string) => keys.get(n)!;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
    keys = await registerApprovers(env.store, ['alice', 'bob']);
    temporalBin = (await resolveBinary(TEMPORAL_CLI, parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' }))).path;
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-attack-'));
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
    if (home) await fs.rm(home, { recursive: true, force: true });
  });

  async function startGated(name: string, approval: Record<string, unknown> | undefined) {
    const spec = await ws.spec(`${name}-${randomBytes(3).toString('hex')}.yaml`, (d) => {
      d.name = name;
      if (approval) d.approval = { approvers: ['alice', 'bob'], required: 1, timeout: '1h', ...approval };
      d.deploy = { alias: 'production', strategy: 'direct' };
      delete d.evaluate.compareToChampion;
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    await until('the gate', async () => (await env.client.status(workflowId)).status === 'awaiting_approval', 120_000);
    const handle = env.client.temporal.workflow.getHandle(workflowId);
    const { runId } = await handle.describe();
    return { workflowId, runId, handle, gate: async () => (await handle.query(approvalQuery)) as PendingGate };
  }

  const stockCli = (args: string[]) => {
    const stack = inject('stack');
    return promisify(execFile)(temporalBin, [...args, '--address', stack.temporalAddress, '--namespace', stack.namespace], { timeout: 60_000 });
  };

  it('forged plaintext signal, two poison signals, a forged signature and a keyless approve are refused; a signed approval completes the run', async () => {
    const run = await startGated('attack-gate', {});

    // Finding 1: the stock CLI, plaintext, a name typed by the sender.
    await stockCli(['workflow', 'signal', '--workflow-id', run.workflowId, '--name', 'approve', '--input', '{"identity":"alice"}']);
    // Finding 3: payloads no codec can read, sent raw.
    const stack = inject('stack');
    for (const metadata of <Array<Record<string, Uint8Array>>>[
      { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('k999'), 'encryption-cipher': Buffer.from('AES-256-GCM') },
      { encoding: Buffer.from('foo/bar') },
    ]) {
      await env.client.temporal.workflowService.signalWorkflowExecution({
        namespace: stack.namespace,
        workflowExecution: { workflowId: run.workflowId },
        signalName: 'approve',
        identity: 'attacker',
        input: { payloads: [{ metadata, data: randomBytes(64) }] },
      });
    }
    const afterPoison = await until('three refusals', async () => {
      const g = await run.gate();
      return g.refused.length >= 3 ? g : undefined;
    });
    expect(afterPoison.status).toBe('Pending');
    expect(afterPoison.votes).toEqual([]);
    expect(afterPoison.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/payload refused: plaintext payload .* codec keys are configured/),
      expect.stringMatching(/payload refused: .*key "k999"/),
      expect.stringMatching(/payload refused: plaintext payload \(encoding "foo\/bar"\)/),
    ]);
    // The run is not wedged: no failing workflow task, and it still answers.
    expect(await env.client.workflowTaskTrouble(run.workflowId)).toBeUndefined();
    expect((await env.client.status(run.workflowId)).status).toBe('awaiting_approval');
    // The review saw `approvals list` show nothing pending: the gate is listed, with no problem and its refusals.
    const listed = await runCliAsync(['approvals', 'list', '--json'], env.cliEnv);
    expect(listed.code, listed.stderr).toBe(0);
    const entry = (JSON.parse(listed.stdout) as Array<{ workflowId: string; gate?: PendingGate; error?: string }>).find((p) => p.workflowId === run.workflowId);
    expect(entry?.error).toBeUndefined();
    expect(entry?.gate).toMatchObject({ status: 'Pending', votes: [] });
    expect(entry?.gate?.refused).toHaveLength(3);

    // A forged signature: alice's name, a key nobody registered. Refused before history.
    const forged = sign(newKey(), { workflowId: run.workflowId, runId: run.runId, model: 'attack-gate', version: afterPoison.version, decision: 'approve', approver: 'alice' });
    await expect(run.handle.executeUpdate('decide', { args: [forged] })).rejects.toThrow();
    await run.handle.signal('approve', forged);
    await until('the forged signal refused', async () => (await run.gate()).refused.some((r) => /bad signature/.test(r.reason)));

    // Finding 2: `mlcycle approve` without codec keys fails and records nothing.
    const aliceKey = path.join(home, 'alice.key');
    await fs.writeFile(aliceKey, key('alice').export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    const { MLCYCLE_CODEC_KEY_FILE: _k, ...keyless } = env.cliEnv;
    const denied = await runCliAsync(['approve', run.workflowId, '--as', 'alice', '--key', aliceKey, '--comment', 'secret comment'], { ...keyless, MLCYCLE_STATE_DIR: home });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/refused/);
    expect((await run.gate()).votes).toEqual([]);
    const history = await run.handle.fetchHistory();
    expect(JSON.stringify(history)).not.toContain('secret comment');
    expect((history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(0);

    // The healthy path still works.
    const ok = await runCliAsync(['approve', run.workflowId, '--as', 'alice', '--key', aliceKey], env.cliEnv);
    expect(ok.code, ok.stderr).toBe(0);
    const status = await waitForRun(env.client, run.workflowId);
    expect(status.status).toBe('completed');
    const registry = createModelRegistry({ store: env.store });
    expect((await registry.getAliases('attack-gate')).production).toBe(afterPoison.version);
    const audit = await registry.audit('attack-gate');
    expect(audit.filter((a) => a.action === 'approve').map((a) => a.actor)).toEqual(['alice']);

    // A decision written into the audit log by someone with storage access but no key is found.
    await registry.appendAudit({ at: new Date().toISOString(), actor: 'bob', action: 'approve', model: 'attack-gate', version: afterPoison.version, detail: { statement: forged.statement, signature: forged.signature } });
    const verify = await runCliAsync(['audit', 'verify', 'attack-gate', '--json'], env.cliEnv);
    expect(verify.code).not.toBe(0);
    const report = JSON.parse(verify.stdout) as { verified: number; failed: Array<{ actor: string; problem: string }> };
    expect(report.verified).toBe(1);
    expect(report.failed).toEqual([expect.objectContaining({ actor: 'bob', problem: expect.stringMatching(/signed as "alice", the entry says "bob"/) })]);
    expect(verify.stderr).toMatch(/1 decision\(s\) do not verify: .* approve by bob/);
  }, 300_000);

  it('a signature replayed on another run, and a revoked key, are refused', async () => {
    const first = await startGated('attack-replay', {});
    const v1 = (await first.gate()).version;
    const signed = sign(key('alice'), { workflowId: first.workflowId, runId: first.runId, model: 'attack-replay', version: v1, decision: 'approve', approver: 'alice' });
    await first.handle.signal('approve', signed);
    expect((await waitForRun(env.client, first.workflowId)).status).toBe('completed');

    const second = await startGated('attack-replay', {});
    await expect(second.handle.executeUpdate('decide', { args: [signed] })).rejects.toThrow();
    await second.handle.signal('approve', signed);
    const refused = await until('the replay refused', async () => (await second.gate()).refused.find((r) => /statement is for run/.test(r.reason)));
    expect(refused.identity).toBe('alice (unverified)');
    // The same signature on the same run again: refused too (it already counted there).
    expect((await second.gate()).votes).toEqual([]);

    // bob's key revoked: a gate opened afterwards refuses his signature.
    await createTrustRecords({ store: env.store }).revokeApprover('bob', 'test-admin');
    const third = await startGated('attack-replay', {});
    const v3 = (await third.gate()).version;
    await expect(
      env.client.decide(third.workflowId, { decision: 'approve', approver: 'bob' }, key('bob')),
    ).rejects.toThrow(/"bob" has no active key/);
    expect(v3).toBeGreaterThan(v1);
    await env.client.decide(second.workflowId, { decision: 'reject', approver: 'alice', reason: 'superseded' }, key('alice'));
    await env.client.decide(third.workflowId, { decision: 'reject', approver: 'alice', reason: 'superseded' }, key('alice'));
    expect((await waitForRun(env.client, second.workflowId)).status).toBe('rejected');
    // Re-register bob for the other tests of this file.
    keys.set('bob', (await registerApprovers(env.store, ['bob'])).get('bob')!);
  }, 300_000);

  it('a spec without approval: under a protecting policy waits at a gate with the policy\'s approvers; promote without signatures is refused', async () => {
    const policy = await runCliAsync(['policy', 'set', 'attack-policy', '--protect', 'production', '--approvers', 'alice,bob', '--required', '2', '--timeout', '7d'], env.cliEnv);
    expect(policy.code, policy.stderr).toBe(0);
    const shown = JSON.parse((await runCliAsync(['policy', 'show', 'attack-policy', '--json'], env.cliEnv)).stdout) as { policy: Record<string, unknown> };
    expect(shown.policy).toMatchObject({ scope: 'attack-policy', protect: ['production'], approvers: ['alice', 'bob'], required: 2, timeout: '7d' });

    const run = await startGated('attack-policy', undefined);
    const gate = await run.gate();
    expect(gate).toMatchObject({ approvers: ['alice', 'bob'], required: 2, onTimeout: 'reject', policy: 'attack-policy', signed: true });

    // An operator moving the alias by hand is held to the same policy.
    const promote = await runCliAsync(['models', 'promote', 'attack-policy', String(gate.version), '--alias', 'production'], env.cliEnv);
    expect(promote.code).not.toBe(0);
    expect(promote.stderr).toMatch(/refused: the "attack-policy" policy protects "production" and needs 2 signed approval\(s\)/);
    // A client that bypasses the CLI (the client API, the registry directly) is refused the same way.
    const catalog = new ModelCatalog(s3Settings(parseEnv(env.cliEnv), DEFAULT_S3_ENDPOINT));
    await expect(catalog.promote('attack-policy', gate.version, { actor: 'mallory' })).rejects.toThrow(/refused: the "attack-policy" policy protects "production"/);
    await expect(catalog.withRegistry((r: ModelRegistry) => r.setAlias('attack-policy', 'production', gate.version, { actor: 'mallory' }))).rejects.toMatchObject({ code: 'DECISION_REFUSED' });
    expect((await createModelRegistry({ store: env.store }).getAliases('attack-policy')).production).toBeUndefined();

    await env.client.decide(run.workflowId, { decision: 'approve', approver: 'alice' }, key('alice'));
    // One approval is below the policy's quorum: still pending.
    expect((await run.gate()).status).toBe('Pending');
    await env.client.decide(run.workflowId, { decision: 'approve', approver: 'bob' }, key('bob'));
    expect((await waitForRun(env.client, run.workflowId)).status).toBe('completed');
    expect((await createModelRegistry({ store: env.store }).getAliases('attack-policy')).production).toBe(gate.version);
    const admin = await createTrustRecords({ store: env.store }).adminAudit();
    expect(admin.map((a) => a.action)).toEqual(expect.arrayContaining(['approver.add', 'approver.revoke', 'policy.set']));
  }, 300_000);

  it('a run whose workflow tasks keep failing says so in status instead of "running"', async () => {
    const workflowId = `stuck-${randomBytes(4).toString('hex')}`;
    // A workflow type no worker registers: every workflow task fails, the run never moves.
    await env.client.temporal.workflow.start('noSuchWorkflow', { taskQueue: `${env.queuePrefix}cpu`, workflowId, args: [] });
    const stuck = await until('the failing task to show', async () => {
      const s = await env.client.status(workflowId);
      return s.error ? s : undefined;
    }, 90_000);
    expect(stuck.status).toBe('running');
    expect(stuck.error).toMatch(/workflow task failing \(attempt \d+\)/);
    const cli = await runCliAsync(['status', workflowId], env.cliEnv);
    expect(cli.stdout).toMatch(/error: workflow task failing/);
    await env.client.temporal.workflow.getHandle(workflowId).terminate('test done');
  }, 120_000);
});
