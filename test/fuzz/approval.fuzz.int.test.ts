/**
 * Arbitrary approval payloads as real `decide` updates (and a few as vote signals) to a real,
 * signed approval gate on the real stack: unsigned, signed-but-malformed statements and
 * tampered signatures are each refused with a message naming the problem, none reaches history
 * or the gate's votes, no signal breaks the workflow, and a valid signed decision then still goes
 * through. Raw signals carry payloads at the encoding level (arbitrary metadata and bytes, a
 * mutated ciphertext), as a client without mlcycle's codec would send them.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import fc from 'fast-check';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../src/codec/aes-gcm-codec';
import { rootMessage } from '../../src/client/mlcycle-client';
import { createModelRegistry } from '../../src/registry/model-registry';
import type { PendingGate } from '../../workflows/approval-definitions';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { acceptable, APPROVERS, buildPayload, payload } from './decisions';
import { registerApprovers, sign } from '../helpers/approvers';
import type { KeyObject } from 'node:crypto';
import { sign as edSign } from 'node:crypto';

import { arbitraryPayload, mutate, MUTATIONS } from './encodings';
import { FUZZ_SEED, fuzzTarget, scaledRuns } from './fuzz-support';
import { until } from '../helpers/until';

describe('fuzz: approval payloads on a real gate', () => {
  const target = fuzzTarget('approval-updates');
  let env: TestEnv;
  let ws: SpecWorkspace;
  let handle: WorkflowHandle;
  let keys: Map<string, KeyObject>;
  let run: { workflowId: string; runId: string; model: string; version: number };

  const gate = async (): Promise<PendingGate> => {
    const g = await handle.query<PendingGate | null>('approval');
    if (!g) throw new Error('the run has no approval gate (yet)');
    return g;
  };

  beforeAll(async () => {
    env = await startTestEnv();
    keys = await registerApprovers(env.store, APPROVERS);
    ws = await SpecWorkspace.create({ rows: 600 });
    const spec = await ws.spec('fuzz-gate.yaml', (d) => {
      d.name = 'fuzz-gate';
      d.validation.minRows = 100;
      d.train.params.epochs = 5;
      delete d.evaluate.thresholds;
      delete d.evaluate.compareToChampion;
      d.approval = { approvers: APPROVERS, required: 2, timeout: '1h' };
      d.deploy = { alias: 'production', strategy: 'direct' };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    handle = env.client.temporal.workflow.getHandle(workflowId);
    await until('the gate', async () => (await env.client.status(workflowId)).status === 'awaiting_approval', 240_000);
    const g = await gate();
    run = { workflowId, runId: (await handle.describe()).runId, model: g.model, version: g.version };
  }, 300_000);
  afterAll(async () => {
    await handle?.terminate('fuzz test done').catch(() => undefined);
    await env?.close();
    await ws?.remove();
  });

  /**
   * Three ways to send one arbitrary payload: as it is (unsigned), as a statement text correctly
   * signed by a registered approver (the statement itself is arbitrary), and as a canonical
   * statement for this very run whose signature has one byte changed.
   */
  const form = fc.constantFrom('raw' as const, 'signed-junk' as const, 'tampered' as const);
  const shaped = (value: unknown, how: 'raw' | 'signed-junk' | 'tampered', flip: number) => {
    if (how === 'raw') return { sent: value, expected: /unsigned vote|invalid signed vote/ };
    if (how === 'signed-junk') {
      const statement = JSON.stringify(value) ?? 'null';
      const signature = edSign(null, Buffer.from(statement), keys.get('alice')!).toString('base64');
      return { sent: { statement, signature }, expected: /statement|invalid signed vote/ };
    }
    const v = sign(keys.get('alice')!, { ...run, decision: 'approve', approver: 'alice' });
    const sig = Buffer.from(v.signature, 'base64');
    sig[flip % 64] = (sig[flip % 64] ?? 0) ^ (1 + (flip % 255));
    return { sent: { ...v, signature: sig.toString('base64') }, expected: /bad signature/ };
  };

  /** The gate once `sent` signals beyond the `before` refusals already recorded are refused. */
  const refusedAfter = (before: number, sent: number, what: string) =>
    until(what, async () => {
      const current = await gate();
      return current.refused.length >= before + sent ? current : undefined;
    }, 60_000);

  /** No signal made the workflow task fail (a handler that throws fails it over and over). */
  async function expectNoFailedWorkflowTask(): Promise<void> {
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  }

  it('refuses every invalid payload sent as an update, naming the problem, without recording anything', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(payload, form, fc.nat(), async (p, how, flip) => {
        const built = buildPayload(p);
        // Only what must be refused is sent: an accepted vote would close the experiment early.
        fc.pre(!acceptable(built.value));
        const { sent: value, expected } = shaped(built.value, how, flip);
        // Payloads travel as JSON; ones that cannot be written so never reach the server.
        try {
          JSON.stringify(value);
        } catch {
          fc.pre(false);
        }
        target.hit();
        sent++;
        const error = await handle.executeUpdate('decide', { args: [value] }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error, `accepted ${JSON.stringify(value)?.slice(0, 200)}`).toBeInstanceOf(WorkflowUpdateFailedError);
        const message = rootMessage(error);
        expect(message, `${how}: ${JSON.stringify(value)?.slice(0, 200)}`).toMatch(expected);
        const g = await gate();
        expect(g.votes).toEqual([]);
        expect(g.status).toBe('Pending');
      }),
      target.params(30),
    );
    expect(sent).toBeGreaterThan(0);
    // Refused updates never reach history.
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(0);
  });

  it('raw signals whose payload metadata and bytes no codec reads, or a signed vote ciphertext mutated, are refused votes; no workflow task fails', async () => {
    const before = (await gate()).refused.length;
    const raw = fc.sample(arbitraryPayload, { numRuns: scaledRuns(10), seed: FUZZ_SEED });
    // A valid signed approval of this run, encrypted with the suite's key, then changed one way each.
    const codec = new AesGcmPayloadCodec(env.keyring);
    const [valid] = await codec.encode([defaultPayloadConverter.toPayload(sign(keys.get('alice')!, { ...run, decision: 'approve', approver: 'alice' }))]);
    const mutated = MUTATIONS.map((how, i) => mutate(valid!, { how, at: 7 + 13 * i, x: 1 + i }));
    const { namespace } = inject('stack');
    for (const p of [...raw, ...mutated]) {
      target.hit();
      await env.client.temporal.workflowService.signalWorkflowExecution({
        namespace,
        workflowExecution: { workflowId: run.workflowId },
        signalName: 'approve',
        identity: 'fuzz',
        input: { payloads: [p] },
      });
    }
    const g = await refusedAfter(before, raw.length + mutated.length, 'the raw signals to be handled');
    expect(g.votes).toEqual([]);
    for (const r of g.refused.slice(before)) expect(r.reason, JSON.stringify(r)).toMatch(/payload refused/);
    await expectNoFailedWorkflowTask();
    expect(await env.client.workflowTaskTrouble(run.workflowId)).toBeUndefined();
  });

  it('malformed vote signals are recorded as refused and break nothing; a valid signed decision then goes through', async () => {
    const before = (await gate()).refused.length;
    // A vote is what a signal carries; the signal's name is the decision.
    const acceptableVote = (v: unknown, name: 'approve' | 'reject') =>
      v !== null && typeof v === 'object' && !Array.isArray(v) && !('decision' in v) && acceptable({ ...v, decision: name });
    const sampled = fc.sample(
      fc.tuple(payload.map((p) => buildPayload(p).value), fc.constantFrom('approve' as const, 'reject' as const)).filter(([v, name]) => !acceptableVote(v, name)),
      { numRuns: 6, seed: FUZZ_SEED },
    );
    const extra: Array<[unknown, 'approve' | 'reject']> = [
      [null, 'approve'],
      [5, 'reject'],
      ['alice', 'approve'],
      [[], 'reject'],
      [{ identity: 'alice', reason: 5 }, 'reject'],
      [{ identity: ['alice'], comment: { a: 1 } }, 'approve'],
      [{ identity: 'alice' }, 'approve'],
      [shaped({ decision: 'approve', identity: 'alice' }, 'signed-junk', 0).sent, 'approve'],
      [shaped(null, 'tampered', 7).sent, 'approve'],
      // A valid signed approval sent as a rejection: the statement says otherwise.
      [sign(keys.get('alice')!, { ...run, decision: 'approve', approver: 'alice' }), 'reject'],
    ];
    for (const [v, name] of [...sampled, ...extra]) {
      target.hit();
      await handle.signal(name, v);
    }
    const g = await refusedAfter(before, sampled.length + extra.length, 'the signals to be handled');
    expect(g.votes).toEqual([]);
    for (const r of g.refused.slice(before)) expect(r.reason.length).toBeGreaterThan(0);
    await expectNoFailedWorkflowTask();

    target.hit();
    const after = (await env.client.decide(run.workflowId, { decision: 'approve', approver: 'alice', comment: 'after the fuzz' }, keys.get('alice')!)).gate!;
    expect(after.votes).toMatchObject([{ identity: 'alice', decision: 'approve', comment: 'after the fuzz', via: 'update' }]);
    expect(after.status).toBe('Pending');
    // Let the accepted vote's audit write finish before the run is terminated.
    await until('the audit entry', async () => (await createModelRegistry({ store: env.store }).audit('fuzz-gate')).some((a) => a.actor === 'alice'), 60_000);
  });
});
