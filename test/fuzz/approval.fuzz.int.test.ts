/**
 * Arbitrary approval payloads as real `decide` updates (and a few as vote signals) to a real
 * approval gate on the real stack: each update is refused with a message naming the field, none
 * reaches history or the gate's votes, no signal breaks the workflow, and a valid decision then
 * still goes through.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootMessage } from '../../src/client/mlcycle-client';
import { createModelRegistry } from '../../src/registry/model-registry';
import type { PendingGate } from '../../workflows/approval-definitions';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { acceptable, APPROVERS, buildPayload, namesProblem, payload } from './decisions';

import { FUZZ_SEED, fuzzTarget } from './fuzz-support';
import { until } from '../helpers/until';

describe('fuzz: approval payloads on a real gate', () => {
  const target = fuzzTarget('approval-updates');
  let env: TestEnv;
  let ws: SpecWorkspace;
  let handle: WorkflowHandle;

  const gate = async (): Promise<PendingGate> => {
    const g = await handle.query<PendingGate | null>('approval');
    if (!g) throw new Error('the run has no approval gate (yet)');
    return g;
  };

  beforeAll(async () => {
    env = await startTestEnv();
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
  }, 300_000);
  afterAll(async () => {
    await handle?.terminate('fuzz test done').catch(() => undefined);
    await env?.close();
    await ws?.remove();
  });

  it('refuses every invalid payload sent as an update, naming the field, without recording anything', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const { value, broken } = buildPayload(p);
        // Only what must be refused is sent: an accepted vote would close the experiment early.
        fc.pre(!acceptable(value));
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
        expect(namesProblem(message, broken), `does not name ${broken?.join(', ') ?? 'the problem'}: ${message.slice(0, 300)}`).toBe(true);
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

  it('malformed vote signals are recorded as refused and break nothing; a valid decision then goes through', async () => {
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
    ];
    for (const [v, name] of [...sampled, ...extra]) {
      target.hit();
      await handle.signal(name, v);
    }
    const sentSignals = sampled.length + extra.length;
    const g = await until('the signals to be handled', async () => {
      const current = await gate();
      return current.refused.length >= before + sentSignals ? current : undefined;
    }, 60_000);
    expect(g.votes).toEqual([]);
    for (const r of g.refused.slice(before)) expect(r.reason.length).toBeGreaterThan(0);
    // No signal made the workflow task fail (a handler that throws fails it over and over).
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);

    target.hit();
    const after = await handle.executeUpdate<PendingGate, [unknown]>('decide', { args: [{ decision: 'approve', identity: 'alice', comment: 'after the fuzz' }] });
    expect(after.votes).toMatchObject([{ identity: 'alice', decision: 'approve', comment: 'after the fuzz', via: 'update' }]);
    expect(after.status).toBe('Pending');
    // Let the accepted vote's audit write finish before the run is terminated.
    await until('the audit entry', async () => (await createModelRegistry({ store: env.store }).audit('fuzz-gate')).some((a) => a.actor === 'alice'), 60_000);
  });
});
