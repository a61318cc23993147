import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { effectiveApproval } from '../../src/approval/approval-policy';
import { publicKeyText, signVote } from '../../src/approval/approver-keys';
import { base64ToBytes, bytesToBase64, verifyVote, type VoteContext } from '../../src/approval/signed-vote';
import type { PolicyRecord } from '../../src/registry/trust-records';

const key = generateKeyPairSync('ed25519').privateKey;
const at = new Date(1_700_000_000_000).toISOString();
const ctx: VoteContext = { workflowId: 'w', runId: 'r', model: 'm', version: 2, keys: { alice: publicKeyText(key) }, openedAt: Date.parse(at) - 1000, now: Date.parse(at) + 1000 };
const vote = (over: Partial<Parameters<typeof signVote>[1]> = {}) => signVote(key, { workflowId: 'w', runId: 'r', model: 'm', version: 2, decision: 'approve', approver: 'alice', at, ...over });

describe('signed votes (verified by node:crypto signatures with @noble/curves, as in the workflow)', () => {
  it('accepts the statement signed for this run and version, and refuses every other binding', () => {
    expect(verifyVote(vote({ comment: 'ok' }), ctx)).toMatchObject({ approver: 'alice', comment: 'ok' });
    expect(() => verifyVote(vote({ runId: 'other' }), ctx)).toThrow(/statement is for run w\/other/);
    expect(() => verifyVote(vote({ version: 1 }), ctx)).toThrow(/m v1, this gate decides m v2/);
    expect(() => verifyVote(vote(), { ...ctx, decision: 'reject' })).toThrow(/says approve, sent as reject/);
    expect(() => verifyVote(vote({ approver: 'bob' }), ctx)).toThrow(/"bob" has no active key/);
    expect(() => verifyVote(vote({ at: new Date(ctx.openedAt - 3_600_000).toISOString() }), ctx)).toThrow(/outside the gate's window/);
    expect(() => verifyVote({ identity: 'alice' }, ctx)).toThrow(/unsigned vote/);
  });

  it('refuses a statement changed after signing, or re-serialized', () => {
    const v = vote();
    expect(() => verifyVote({ ...v, statement: v.statement.replace('"version":2', '"version":2.0') }, ctx)).toThrow(/canonical|bad signature/);
    expect(() => verifyVote({ ...v, statement: JSON.stringify(JSON.parse(v.statement), null, 1) }, ctx)).toThrow(/canonical/);
    const other = signVote(generateKeyPairSync('ed25519').privateKey, { workflowId: 'w', runId: 'r', model: 'm', version: 2, decision: 'approve', approver: 'alice', at });
    expect(() => verifyVote(other, ctx)).toThrow(/bad signature/);
  });

  it('strict base64 round-trips and refuses non-canonical text', () => {
    for (const n of [0, 1, 2, 3, 31, 32, 64]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
      expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
      expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
    expect(base64ToBytes('QQ=')).toBeUndefined();
    expect(base64ToBytes('QR==')).toBeUndefined();
    expect(base64ToBytes('Q Q==')).toBeUndefined();
  });
});

describe('effective approval: the policy is the floor', () => {
  const policy: PolicyRecord = { scope: 'm', setAt: at, setBy: 'admin', policy: { protect: ['production'], approvers: ['alice', 'bob', 'carol'], required: 2, timeout: '3d' } };
  it('opens a gate for a spec without approval, never lowers the quorum, never adds approvers, never times out into approval', () => {
    expect(effectiveApproval(undefined, policy, 'production')).toEqual({ approvers: ['alice', 'bob', 'carol'], required: 2, timeout: '3d', onTimeout: 'reject' });
    expect(effectiveApproval({ approvers: ['alice', 'mallory'], required: 1, timeout: '1h', onTimeout: 'approve' }, policy, 'production')).toMatchObject({ approvers: ['alice', 'bob', 'carol'], required: 2, onTimeout: 'reject' });
    expect(effectiveApproval({ approvers: ['alice', 'bob'], required: 2, timeout: '1h', onTimeout: 'reject' }, policy, 'production')).toMatchObject({ approvers: ['alice', 'bob'], required: 2, timeout: '1h' });
    expect(effectiveApproval({ approvers: ['alice', 'bob', 'carol'], required: 3, timeout: '1h', onTimeout: 'reject' }, policy, 'production')).toMatchObject({ required: 3 });
    expect(effectiveApproval(undefined, policy, 'staging')).toBeUndefined();
  });
});
