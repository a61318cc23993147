/**
 * Approval payloads through the `decide` update's validator and the vote signals' parser, at unit
 * level: whatever arrives is either a decision the gate may record (and then a sane one) or is
 * refused with a message naming the broken field or the rule; never another exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionInputSchema, parseVoteInput, type PendingGate } from '../../workflows/approval-definitions';
import { checkDecision } from '../../workflows/approval-gate';
import { acceptable, APPROVERS, buildPayload, namesProblem, payload } from './decisions';
import { fuzzTarget } from './fuzz-support';

function pendingGate(): PendingGate {
  return {
    model: 'fuzz',
    version: 1,
    metrics: {},
    reports: {},
    approvers: [...APPROVERS],
    required: 2,
    votes: [],
    refused: [],
    status: 'Pending',
    deadline: new Date(0).toISOString(),
    onTimeout: 'reject',
  };
}

function outcome(fn: () => unknown): { value?: unknown; error?: unknown } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

describe('fuzz: approval payloads (validator)', () => {
  const target = fuzzTarget('approval');

  it('the decide validator accepts exactly the acceptable decisions and names the problem of every other', () => {
    fc.assert(
      fc.property(payload, (p) => {
        target.hit();
        const { value, broken } = buildPayload(p);
        const r = outcome(() => checkDecision(pendingGate(), value));
        if (r.error === undefined) {
          expect(acceptable(value), `accepted ${JSON.stringify(value)?.slice(0, 200)}`).toBe(true);
          const d = r.value as Record<string, unknown>;
          expect(['approve', 'reject']).toContain(d.decision);
          expect(APPROVERS).toContain(d.identity);
          if (d.decision === 'reject') expect(String(d.reason).trim()).not.toBe('');
          return;
        }
        expect(r.error).toBeInstanceOf(Error);
        const message = (r.error as Error).message;
        expect(acceptable(value), `refused an acceptable decision: ${message}`).toBe(false);
        expect(namesProblem(message, broken), `does not name ${broken?.join(', ') ?? 'the problem'}: ${message.slice(0, 300)}`).toBe(true);
      }),
      target.params(600),
    );
  });

  it('any value at all (not only JSON) gets a verdict, never a TypeError', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true }), (value) => {
        target.hit();
        const r = outcome(() => checkDecision(pendingGate(), value));
        if (r.error === undefined) {
          expect(acceptable(value)).toBe(true);
          return;
        }
        expect(r.error).toBeInstanceOf(Error);
        expect((r.error as Error).constructor).toBe(Error);
        expect(namesProblem((r.error as Error).message, undefined), (r.error as Error).message).toBe(true);
      }),
      target.params(300),
    );
  });

  it('vote signals: the parser accepts a well-formed vote and names the field of any other', () => {
    fc.assert(
      fc.property(payload, (p) => {
        target.hit();
        const { value, broken } = buildPayload(p);
        // A signal's vote has no decision field: the signal's name is the decision.
        const vote = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'decision')) : value;
        const r = outcome(() => parseVoteInput(vote));
        const wellFormed = DecisionInputSchema.safeParse({ ...(vote as object), decision: 'approve' }).success && typeof vote === 'object' && vote !== null && !Array.isArray(vote);
        if (r.error === undefined) {
          expect(wellFormed).toBe(true);
          return;
        }
        expect(wellFormed).toBe(false);
        expect(namesProblem((r.error as Error).message, broken?.filter((f) => f !== 'decision')), (r.error as Error).message).toBe(true);
      }),
      target.params(300),
    );
  });

  it('a gate fed decisions in sequence records at most one vote per approver and never an invalid one', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 12 }), (ps) => {
        target.hit();
        const gate = pendingGate();
        for (const p of ps) {
          const r = outcome(() => checkDecision(gate, buildPayload(p).value));
          if (r.error !== undefined) continue;
          const d = r.value as { identity: string; decision: 'approve' | 'reject' };
          gate.votes.push({ identity: d.identity, decision: d.decision, at: '', via: 'update' });
          if (d.decision === 'reject') gate.status = 'Rejected';
          else if (gate.votes.filter((v) => v.decision === 'approve').length >= gate.required) gate.status = 'Approved';
        }
        const identities = gate.votes.map((v) => v.identity);
        expect(new Set(identities).size).toBe(identities.length);
        for (const v of gate.votes) expect(APPROVERS).toContain(v.identity);
        expect(gate.votes.filter((v) => v.decision === 'reject').length).toBeLessThanOrEqual(1);
      }),
      target.params(150),
    );
  });
});
