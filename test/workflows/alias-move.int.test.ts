/**
 * Hand-made alias moves (`mlcycle models promote|rollback`, `client.models.*`) are carried out by
 * a cpu worker: the worker's activity reads the approval policy from the registry, checks the
 * signed decisions of exactly that version and writes with the worker's storage credentials. The
 * CLI runs here without any storage settings, so every move it reports was written by the worker.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { MlcycleClient } from '../../src/client/mlcycle-client';
import type { Keyring } from '../../src/codec/keyring';
import { createMlcycleWorker } from '../../src/worker/worker';
import { workerAliasMover } from '../../src/client/alias-moves';
import { createModelRegistry, type AuditEntry, type ModelRegistry } from '../../src/registry/model-registry';
import { createTrustRecords } from '../../src/registry/trust-records';
import { readDeploymentRecord } from '../../src/serving/deployment-record';
import { aliasMoveId } from '../../workflows/alias-move';
import { registerApprovers, sign } from '../helpers/approvers';
import { captureHistory } from '../helpers/history-capture';
import { runCliInEnv } from '../helpers/cli';
import { startTestEnv, TEST_PERMISSIONS, type TestEnv } from '../helpers/test-env';
import { registerUri } from '../serving/fixtures';

describe('alias moves carried out by a worker', () => {
  let env: TestEnv;
  let registry: ModelRegistry;
  let keys: Map<string, KeyObject>;
  let home: string;
  /** Temporal's settings only: no MLCYCLE_S3_*, no AWS_*, an empty state folder (no embedded credentials). */
  let temporalOnly: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await startTestEnv({ queues: ['cpu'] });
    registry = createModelRegistry({ store: env.store });
    keys = await registerApprovers(env.store, ['alice', 'bob']);
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-alias-move-'));
    temporalOnly = {
      PATH: process.env.PATH,
      HOME: home,
      MLCYCLE_FROM_SOURCE: '1',
      MLCYCLE_STATE_DIR: path.join(home, 'state'),
      TEMPORAL_ADDRESS: env.cliEnv.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: env.cliEnv.TEMPORAL_NAMESPACE,
      MLCYCLE_QUEUE_PREFIX: env.queuePrefix,
      MLCYCLE_CODEC_KEY_FILE: env.cliEnv.MLCYCLE_CODEC_KEY_FILE,
    };
  });
  afterAll(async () => {
    await env?.close();
    if (home) await fs.rm(home, { recursive: true, force: true });
  });

  /** The CLI in a process whose environment is exactly `processEnv` (nothing inherited). */
  const cli = (args: string[], processEnv: NodeJS.ProcessEnv = temporalOnly) => runCliInEnv(args, processEnv);

  /** The ApplicationFailure that failed the latest run of `workflowId` (read with the suite's keys). */
  async function failureOf(workflowId: string): Promise<ApplicationFailure> {
    const err = await env.client.temporal.workflow.getHandle(workflowId).result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = err;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  const register = (model: string, n: number) => registerUri(registry, model, `s3://test/${model}/v${n}.json`, `${model}-v${n}`, { trainer: 'logistic-regression' });
  const moves = async (model: string, alias: string): Promise<AuditEntry[]> => (await registry.audit(model)).filter((e) => e.alias === alias && e.action.startsWith('alias.'));
  const moveId = (model: string, alias: string) => aliasMoveId(model, alias, `${env.queuePrefix}cpu`);
  /** A signed decision as the gate records it in the audit log. */
  const decide = async (model: string, approver: string, version: number, decision: 'approve' | 'reject' = 'approve') => {
    const vote = sign(keys.get(approver)!, { workflowId: `wf-${model}`, runId: `run-${version}`, model, version, decision, approver });
    await registry.appendAudit({ at: new Date().toISOString(), actor: approver, action: decision, model, version, detail: vote });
  };

  it('the CLI, with no storage settings at all, promotes and rolls back an unprotected alias through the worker; the audit names the actor and the worker run', async () => {
    expect(Object.keys(temporalOnly).filter((k) => /^(AWS_|MLCYCLE_S3_)/.test(k))).toEqual([]);
    const model = 'am-open';
    await register(model, 1);
    await register(model, 2);

    const first = await cli(['models', 'promote', model, '1', '--alias', 'staging', '--as', 'dana', '--reason', 'first staging build']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`${model}: staging → v1`);
    await captureHistory(env.client.temporal, moveId(model, 'staging'), 'promoted');
    const second = await cli(['models', 'promote', model, '2', '--alias', 'staging', '--as', 'dana']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(`${model}: staging → v2 (was v1)`);
    const again = await cli(['models', 'promote', model, '2', '--alias', 'staging', '--as', 'dana']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`${model}: staging already at v2`);
    // A client without the payload keys: the worker refuses its plaintext input, nothing moves, and
    // the client (which cannot read the worker's encrypted answer either) says what to set.
    const { MLCYCLE_CODEC_KEY_FILE: _keys, ...keyless } = temporalOnly;
    const plaintext = await cli(['models', 'promote', model, '1', '--alias', 'staging', '--as', 'mallory'], keyless);
    expect(plaintext.code, plaintext.stderr).toBe(1);
    expect(plaintext.stderr.trim().split('\n'), plaintext.stderr).toHaveLength(1);
    expect(plaintext.stderr).toMatch(/^mlcycle: promote am-open v1 to "staging": payload encrypted with key "[^"]+" but no codec keys are configured \(set MLCYCLE_CODEC_KEY_FILE/);
    expect(await failureOf(moveId(model, 'staging'))).toMatchObject({ type: 'PAYLOAD_REFUSED', message: expect.stringMatching(/^workflow input .*plaintext/) });
    expect(await registry.getAliases(model)).toEqual({ staging: 2 });

    const back = await cli(['models', 'rollback', model, '--alias', 'staging', '--as', 'erin', '--reason', 'p99 regression']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(`${model}: staging rolled back v2 → v1`);
    await captureHistory(env.client.temporal, moveId(model, 'staging'), 'rolled-back');

    expect(await registry.getAliases(model)).toEqual({ staging: 1 });
    // The serving route moved with the alias (what running prediction services follow).
    expect(await readDeploymentRecord(env.store, model, 'staging')).toMatchObject({ stable: { version: 1 }, reason: 'p99 regression' });
    const audit = await moves(model, 'staging');
    expect(audit.map((e) => [e.action, e.actor, e.from ?? null, e.to])).toEqual([
      ['alias.set', 'dana', null, 1],
      ['alias.set', 'dana', 1, 2],
      ['alias.rollback', 'erin', 2, 1],
    ]);
    expect(audit[0]?.detail?.reason).toBe('first staging build');
    // Each move is keyed by the worker's workflow run: one run per move, one id per (model, alias).
    for (const e of audit) expect(String(e.detail?.idempotencyKey)).toMatch(new RegExp(`^${moveId(model, 'staging')}/[0-9a-f-]+$`));
    expect(new Set(audit.map((e) => e.detail?.idempotencyKey)).size).toBe(3);
  }, 300_000);

  it('a protected alias without the signed decisions its policy needs is refused by the worker activity (one attempt, one line, nothing moved); with them it moves', async () => {
    const model = 'am-protected';
    await register(model, 1);
    await register(model, 2);
    await createTrustRecords({ store: env.store }).setPolicy(model, { protect: ['production'], approvers: ['alice', 'bob'], required: 2 }, 'test-admin');

    const refused = await cli(['models', 'promote', model, '2', '--as', 'mallory']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    const lines = refused.stderr.trim().split('\n');
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toBe(
      `mlcycle: promotion of ${model} v2 to "production" refused: the "${model}" policy protects "production" and needs 2 signed approval(s) of this version from alice, bob; found 0; missing 2 more from alice, bob`,
    );
    expect((await registry.getAliases(model)).production).toBeUndefined();
    await captureHistory(env.client.temporal, moveId(model, 'production'), 'refused');
    // The refusal came from the worker's activity, as a non-retryable failure on its first attempt.
    expect(await failureOf(moveId(model, 'production'))).toMatchObject({ type: 'DECISION_REFUSED', nonRetryable: true });
    const handle = env.client.temporal.workflow.getHandle(moveId(model, 'production'));
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).toEqual(['promoteModel']);
    expect(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);

    // Signed decisions, as the gate records them in the audit log: alice approves v2, bob approves v1 only.
    await decide(model, 'alice', 2);
    await decide(model, 'bob', 1);
    // Another version's approval does not count for this one (the client API goes through the worker too).
    await expect(env.client.models.promote(model, 2, { actor: 'mallory' })).rejects.toMatchObject({
      code: 'DECISION_REFUSED',
      message: expect.stringMatching(/found 1 \(alice\); missing 1 more from bob$/),
    });
    expect((await registry.getAliases(model)).production).toBeUndefined();

    await decide(model, 'bob', 2);
    const promoted = await cli(['models', 'promote', model, '2', '--as', 'dana', '--reason', 'approved by alice and bob']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout.trim()).toBe(`${model}: production → v2`);
    expect(await registry.getAliases(model)).toEqual({ production: 2 });
    const [move] = await moves(model, 'production');
    expect(move).toMatchObject({ action: 'alias.set', actor: 'dana', to: 2, detail: { reason: 'approved by alice and bob' } });

    // v1 has only bob's approval: the worker refuses to move production there.
    await expect(env.client.models.promote(model, 1, { actor: 'dana' })).rejects.toMatchObject({ code: 'DECISION_REFUSED' });
    expect(await registry.getAliases(model)).toEqual({ production: 2 });
  }, 300_000);

  it('a protected alias rolls back only to its previous holder when that version has the signed approvals the policy needs now (worker and --direct); an unprotected one rolls back freely', async () => {
    const model = 'am-protected-rollback';
    await register(model, 1);
    await register(model, 2);
    // v1 held production before the policy existed: it was never approved under it.
    await env.client.models.promote(model, 1, { actor: 'dana' });
    await createTrustRecords({ store: env.store }).setPolicy(model, { protect: ['production'], approvers: ['alice', 'bob'], required: 2 }, 'test-admin');
    await decide(model, 'alice', 2);
    await decide(model, 'bob', 2);
    expect(await env.client.models.promote(model, 2, { actor: 'dana' })).toMatchObject({ moved: true, previous: 1 });

    const refusal = (found: string) =>
      `rollback of ${model} "production" from v2 to v1 refused: the "${model}" policy protects "production" and needs 2 signed approval(s) of this version from alice, bob; ${found}`;
    const refused = await cli(['models', 'rollback', model, '--as', 'mallory']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n'), refused.stderr).toEqual([`mlcycle: ${refusal('found 0; missing 2 more from alice, bob')}`]);
    expect(await registry.getAliases(model)).toEqual({ production: 2 });
    // The worker's activity refused, non-retryably, on its first attempt.
    expect(await failureOf(moveId(model, 'production'))).toMatchObject({ type: 'DECISION_REFUSED', nonRetryable: true });
    const events = (await env.client.temporal.workflow.getHandle(moveId(model, 'production')).fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).toEqual(['rollbackModel']);
    expect(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
    // The registry holds --direct (storage credentials, no worker) to the same rule.
    const direct = { ...env.cliEnv, PATH: process.env.PATH, HOME: home, MLCYCLE_FROM_SOURCE: '1', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const directRefused = await cli(['models', 'rollback', model, '--direct'], direct);
    expect(directRefused.code).toBe(1);
    expect(directRefused.stderr.trim()).toBe(`mlcycle: ${refusal('found 0; missing 2 more from alice, bob')}`);
    // One approval is not the quorum.
    await decide(model, 'alice', 1);
    await expect(env.client.models.rollback(model, { actor: 'erin' })).rejects.toMatchObject({ code: 'DECISION_REFUSED', message: refusal('found 1 (alice); missing 1 more from bob') });
    expect(await registry.getAliases(model)).toEqual({ production: 2 });

    // With the policy's signed approvals of v1 the rollback goes through the worker.
    await decide(model, 'bob', 1);
    const back = await cli(['models', 'rollback', model, '--as', 'erin', '--reason', 'p99 regression']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(`${model}: production rolled back v2 → v1`);
    expect(await registry.getAliases(model)).toEqual({ production: 1 });
    expect(await readDeploymentRecord(env.store, model, 'production')).toMatchObject({ stable: { version: 1 } });

    // A signed rejection of the previous holder, recorded since, bars going back to it.
    await env.client.models.promote(model, 2, { actor: 'dana' });
    await decide(model, 'bob', 1, 'reject');
    await expect(env.client.models.rollback(model, { actor: 'erin' })).rejects.toMatchObject({
      code: 'DECISION_REFUSED',
      message: expect.stringMatching(new RegExp(`^rollback of ${model} "production" from v2 to v1 refused: rejected by bob \\(`)),
    });
    expect(await registry.getAliases(model)).toEqual({ production: 2 });
    expect((await moves(model, 'production')).map((e) => [e.action, e.actor, e.from ?? null, e.to])).toEqual([
      ['alias.set', 'dana', null, 1],
      ['alias.set', 'dana', 1, 2],
      ['alias.rollback', 'erin', 2, 1],
      ['alias.set', 'dana', 1, 2],
    ]);

    // An alias the policy does not protect (staging) rolls back to any earlier holder, signed or not.
    await env.client.models.promote(model, 1, { alias: 'staging', actor: 'dana' });
    await env.client.models.promote(model, 2, { alias: 'staging', actor: 'dana' });
    expect(await env.client.models.rollback(model, { alias: 'staging', actor: 'mallory' })).toEqual({ from: 2, to: 1 });
  }, 300_000);

  it('two moves of one alias never run at once; a move no worker takes is withdrawn before anything moves', async () => {
    const model = 'am-race';
    await register(model, 1);
    // A move of this alias is open (its run waits on a queue nobody polls): the next one is refused.
    const blocker = await env.client.temporal.workflow.start('promoteAliasWorkflow', {
      taskQueue: `${env.queuePrefix}nobody`,
      workflowId: moveId(model, 'production'),
      args: [{ model, version: 1, alias: 'production', actor: 'x', reason: 'x', queue: `${env.queuePrefix}nobody` }],
    });
    await expect(env.client.models.promote(model, 1)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`another move of alias "production" of ${model} is in progress`) });
    await blocker.terminate('test over');
    const done = await env.client.models.promote(model, 1, { actor: 'dana' });
    expect(done).toMatchObject({ moved: true, previous: null, serving: 1 });

    // A queue no worker polls: the run is terminated and nothing moved.
    await register(model, 2);
    const orphan = workerAliasMover(env.client.temporal, `${env.queuePrefix}idle-cpu`, { pickupMs: 1500 });
    await expect(orphan.promote({ model, version: 2, alias: 'production', actor: 'dana', reason: 'x' })).rejects.toMatchObject({
      code: 'SERVICE_UNREACHABLE',
      message: expect.stringMatching(/no worker took it within 1.5 s; nothing was moved\. Start a cpu worker on task queue ".*idle-cpu"/),
    });
    const withdrawn = await env.client.temporal.workflow.getHandle(aliasMoveId(model, 'production', `${env.queuePrefix}idle-cpu`)).describe();
    expect(withdrawn.status.name).toBe('TERMINATED');
    expect(await registry.getAliases(model)).toEqual({ production: 1 });
  }, 300_000);

  it('a client holding only an older payload key is told the worker carried the move out, not that it failed: promote and rollback, CLI (exit 0) and client API', async () => {
    const model = 'am-rotated';
    await register(model, 1);
    // The workers' key file was rotated (a new active key; the old one still reads); this client's was not.
    const rotated: Keyring = { activeId: 'rotated-k2', keys: new Map([...env.keyring.keys, ['rotated-k2', randomBytes(32)]]), source: 'test' };
    const stack = inject('stack');
    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const queuePrefix = `${env.queuePrefix}rot-`;
    const worker = await createMlcycleWorker({ queue: 'cpu', queuePrefix, connection, namespace: stack.namespace, s3: env.s3, keyring: rotated, permissions: TEST_PERMISSIONS, log: () => undefined });
    const running = worker.run();
    const stale = await MlcycleClient.connect({ address: stack.temporalAddress, namespace: stack.namespace, queuePrefix, keyring: env.keyring });
    try {
      const outcome = await stale.models.promote(model, 1, { alias: 'staging', actor: 'dana' });
      expect(outcome).toEqual({ moved: false, previous: null, serving: null, unreadable: expect.stringContaining('"rotated-k2"') });
      expect(await registry.getAliases(model)).toEqual({ staging: 1 });
      await register(model, 2);
      const rolledBack = { from: null, to: null, unreadable: expect.stringContaining('"rotated-k2"') };

      // The CLI on the older key file: a completed promotion and a completed rollback both exit 0.
      const oldKeyFile = { ...temporalOnly, MLCYCLE_QUEUE_PREFIX: queuePrefix };
      const promoted = await cli(['models', 'promote', model, '2', '--alias', 'staging', '--as', 'dana'], oldKeyFile);
      expect(promoted.code, promoted.stderr).toBe(0);
      expect(promoted.stdout.trim()).toMatch(new RegExp(`^${model}: staging at v2 \\(carried out by the worker; its answer cannot be read here: .*"rotated-k2"`));
      const back = await cli(['models', 'rollback', model, '--alias', 'staging', '--as', 'erin'], oldKeyFile);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout.trim()).toMatch(new RegExp(`^${model}: staging rolled back \\(carried out by the worker; its answer cannot be read here: .*"rotated-k2"`));
      expect(await registry.getAliases(model)).toEqual({ staging: 1 });

      // The client API the same way.
      await stale.models.promote(model, 2, { alias: 'staging', actor: 'dana' });
      expect(await stale.models.rollback(model, { alias: 'staging', actor: 'erin' })).toEqual(rolledBack);
      expect(await registry.getAliases(model)).toEqual({ staging: 1 });
      expect((await moves(model, 'staging')).map((e) => [e.action, e.from ?? null, e.to])).toEqual([
        ['alias.set', null, 1],
        ['alias.set', 1, 2],
        ['alias.rollback', 2, 1],
        ['alias.set', 1, 2],
        ['alias.rollback', 2, 1],
      ]);
    } finally {
      await stale.close();
      worker.shutdown();
      await running;
      await connection.close();
    }
  }, 300_000);

  it('without a reachable Temporal server the CLI says how to fix it; --direct writes from the process, still held to the policy', async () => {
    const model = 'am-direct';
    await register(model, 1);
    await register(model, 2);
    await createTrustRecords({ store: env.store }).setPolicy(model, { protect: ['production'], approvers: ['alice'], required: 1 }, 'test-admin');
    const unreachable = await cli(['models', 'promote', model, '1', '--alias', 'staging'], { ...temporalOnly, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/Temporal server not reachable at 127\.0\.0\.1:1.*pass --direct/);

    // --direct needs the storage settings and no Temporal server.
    const direct = { ...env.cliEnv, PATH: process.env.PATH, HOME: home, MLCYCLE_FROM_SOURCE: '1', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const staged = await cli(['models', 'promote', model, '1', '--alias', 'staging', '--direct'], direct);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout.trim()).toBe(`${model}: staging → v1`);
    const refused = await cli(['models', 'promote', model, '2', '--direct'], direct);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `mlcycle: promotion of ${model} v2 to "production" refused: the "${model}" policy protects "production" and needs 1 signed approval(s) of this version from alice; found 0; missing 1 more from alice`,
    );
    expect(await registry.getAliases(model)).toEqual({ staging: 1 });
  }, 300_000);
});
