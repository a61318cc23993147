import { condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { durationMs } from '../src/spec/durations';
import type { Activities } from '../activities';
import type { ApprovalSpec } from '../src/spec/pipeline-spec';
import {
  approvalQuery,
  approveSignal,
  decideUpdate,
  parseDecisionInput,
  parseVoteInput,
  rejectSignal,
  type DecisionInput,
  type GateStatus,
  type PendingGate,
  type Vote,
} from './approval-definitions';
import { APPROVAL_STATUS } from './search-attributes';
import { verifyVote, VoteRefused, type ApprovalStatement } from '../src/approval/signed-vote';
import { undecodableReason } from '../src/codec/undecodable';

/** Why a decision is refused, or undefined when it is acceptable. Pure: used by validator and signal handlers. */
export function refusal(gate: PendingGate, d: DecisionInput): string | undefined {
  if (gate.status !== 'Pending') return `the approval gate is closed (${gate.status})`;
  if (!gate.approvers.includes(d.identity)) return `"${d.identity}" is not on the approver list (${gate.approvers.join(', ')})`;
  if (gate.votes.some((v) => v.identity === d.identity)) return `"${d.identity}" has already voted`;
  if (d.decision === 'reject' && !d.reason?.trim()) return 'a rejection needs a reason';
  return undefined;
}

/**
 * The `decide` update's validator: the payload's shape (each bad field named), then the gate's
 * rules. Throwing refuses the update before it reaches history.
 */
export function checkDecision(gate: PendingGate, input: unknown): DecisionInput {
  const d = parseDecisionInput(input);
  const why = refusal(gate, d);
  if (why) throw new Error(why);
  return d;
}

/** Signed gates: what a statement is verified against. */
export interface SignedGateContext {
  keys: Readonly<Record<string, string>>;
  openedAt: number;
}

/**
 * A signed vote's full check (pure, so validator and handlers agree): the payload decoded, the
 * signature by the approver's registered key over a statement for this run and version, not seen
 * before, then the gate's own rules. Throws VoteRefused with the reason.
 */
export function checkSignedVote(gate: PendingGate, ctx: SignedGateContext, input: unknown, via: { decision?: 'approve' | 'reject' }): { statement: ApprovalStatement; signature: string; text: string } {
  const bad = undecodableReason(input);
  if (bad) throw new VoteRefused(bad);
  const statement = verifyVote(input, {
    workflowId: gate.workflowId ?? '',
    runId: gate.runId ?? '',
    model: gate.model,
    version: gate.version,
    keys: ctx.keys,
    openedAt: ctx.openedAt,
    now: Date.now(),
    ...(via.decision ? { decision: via.decision } : {}),
  });
  const { signature, statement: text } = input as { signature: string; statement: string };
  if (gate.votes.some((v) => v.signature === signature)) throw new VoteRefused('replayed statement: this signature was already counted');
  const why = refusal(gate, { identity: statement.approver, decision: statement.decision, ...(statement.reason !== undefined ? { reason: statement.reason } : {}) });
  if (why) throw new VoteRefused(why);
  return { statement, signature, text };
}

/**
 * The human approval gate: waits durably (no worker or compute held) for a quorum of approvals or
 * one rejection, sends a reminder, and applies the default outcome at the deadline. Every decision
 * goes to the registry's audit log.
 */
export async function approvalGate(opts: {
  spec: ApprovalSpec;
  model: string;
  version: number;
  metrics: Record<string, number>;
  reports: Record<string, string>;
  queue: string;
  /** Signed votes only, verified against these keys (from the registry's approver directory). */
  signed?: { keys: Record<string, string>; policy?: string };
}): Promise<PendingGate> {
  const acts = proxyActivities<Activities>({
    taskQueue: opts.queue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 10, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
  });
  const started = Date.now(); // workflow time: deterministic
  const gate: PendingGate = {
    model: opts.model,
    version: opts.version,
    metrics: opts.metrics,
    reports: opts.reports,
    approvers: [...new Set(opts.spec.approvers)],
    required: opts.spec.required,
    votes: [],
    refused: [],
    status: 'Pending',
    deadline: new Date(started + durationMs(opts.spec.timeout)).toISOString(),
    onTimeout: opts.spec.onTimeout,
  };
  const signed = opts.signed ? { keys: opts.signed.keys, openedAt: started } : undefined;
  if (signed) {
    gate.signed = true;
    gate.workflowId = workflowInfo().workflowId;
    gate.runId = workflowInfo().runId;
    if (opts.signed?.policy) gate.policy = opts.signed.policy;
  }
  const audits: Promise<unknown>[] = [];
  const setStatus = (status: GateStatus) => {
    gate.status = status;
    upsertSearchAttributes([{ key: APPROVAL_STATUS, value: status }]);
  };
  const accept = (d: DecisionInput, via: Vote['via'], proof?: { statement: string; signature: string }) => {
    const vote: Vote = { identity: d.identity, decision: d.decision, at: new Date().toISOString(), via };
    if (d.comment) vote.comment = d.comment;
    if (d.reason) vote.reason = d.reason;
    if (proof) Object.assign(vote, proof);
    gate.votes.push(vote);
    audits.push(
      acts.recordAudit({
        model: gate.model,
        version: gate.version,
        actor: d.identity,
        action: d.decision,
        detail: {
          workflowId: workflowInfo().workflowId,
          ...(proof ? { runId: workflowInfo().runId } : {}),
          via,
          ...(d.comment ? { comment: d.comment } : {}),
          ...(d.reason ? { reason: d.reason } : {}),
          ...(proof ? { statement: proof.statement, signature: proof.signature } : {}),
        },
      }),
    );
    const approvals = gate.votes.filter((v) => v.decision === 'approve').length;
    if (d.decision === 'reject') setStatus('Rejected');
    else if (approvals >= gate.required) setStatus('Approved');
  };
  // A signal cannot be refused before history, so a malformed or refused vote is recorded as
  // refused; a handler that threw instead would fail the workflow task over and over.
  const acceptSigned = (input: unknown, via: Vote['via'], decision?: DecisionInput['decision']) => {
    const { statement: st, signature, text } = checkSignedVote(gate, signed!, input, decision ? { decision } : {});
    accept(
      { identity: st.approver, decision: st.decision, ...(st.comment !== undefined ? { comment: st.comment } : {}), ...(st.reason !== undefined ? { reason: st.reason } : {}) },
      via,
      { statement: text, signature },
    );
  };
  const signedSignal = (decision: DecisionInput['decision']) => (input: unknown) => {
    try {
      acceptSigned(input, 'signal', decision);
    } catch (err) {
      // Who sent it is unknown until a signature verifies: record the claimed name only as a claim.
      const claimed = claimedApprover(input);
      gate.refused.push({ identity: claimed ? `${claimed} (unverified)` : '(unverified)', reason: String((err as Error).message).slice(0, 500), at: new Date().toISOString() });
    }
  };
  const viaSignal = (decision: DecisionInput['decision']) => (input: unknown) => {
    const given = (input as { identity?: unknown } | null | undefined)?.identity;
    const refuse = (reason: string) =>
      gate.refused.push({ identity: typeof given === 'string' ? given.slice(0, 64) : '(invalid)', reason, at: new Date().toISOString() });
    let d: DecisionInput;
    try {
      d = { ...parseVoteInput(input), decision };
    } catch (err) {
      refuse((err as Error).message);
      return;
    }
    const why = refusal(gate, d);
    if (why) refuse(why);
    else accept(d, 'signal');
  };

  setHandler(approvalQuery, () => gate);
  if (signed) {
    setHandler(approveSignal, signedSignal('approve'));
    setHandler(rejectSignal, signedSignal('reject'));
    setHandler(
      decideUpdate,
      (input) => {
        acceptSigned(input, 'update');
        return gate;
      },
      { validator: (input: unknown) => void checkSignedVote(gate, signed, input, {}) },
    );
  } else {
    setHandler(approveSignal, viaSignal('approve'));
    setHandler(rejectSignal, viaSignal('reject'));
    legacyDecideHandler();
  }
  function legacyDecideHandler() {
  setHandler(
    decideUpdate,
    (d) => {
      accept(parseDecisionInput(d), 'update');
      return gate;
    },
    {
      // Typed as DecisionInput, but a client can send anything: checked field by field.
      validator: (d: unknown) => {
        checkDecision(gate, d);
      },
    },
  );
  }
  // A vote that arrived before the gate opened (a buffered signal) is delivered by setHandler above
  // and may already have decided the gate: marking it Pending again lost that decision, and the
  // gate then waited out its deadline with the deciding vote recorded. Runs recorded before the
  // fix replay the old overwrite; the patch marker appears only in runs that hit the case.
  if (gate.status === 'Pending' || !patched('gate-keeps-early-decision')) setStatus('Pending');
  // Notifications retry in the background: a flaky webhook must not move the gate's deadline.
  if (opts.spec.notify) {
    audits.push(acts.notify({ ...opts.spec.notify, id: `${workflowInfo().workflowId}/approval-requested`, event: 'approval.requested', payload: { ...gate } }));
  }

  const decided = () => gate.status !== 'Pending';
  const total = durationMs(opts.spec.timeout);
  let waited = 0;
  if (opts.spec.remindAfter && durationMs(opts.spec.remindAfter) < total) {
    waited = durationMs(opts.spec.remindAfter);
    if (!(await condition(decided, waited))) {
      const pending = gate.approvers.filter((a) => !gate.votes.some((v) => v.identity === a));
      if (opts.spec.notify) {
        audits.push(acts.notify({ ...opts.spec.notify, id: `${workflowInfo().workflowId}/approval-reminder`, event: 'approval.reminder', payload: { ...gate, pending } }));
      }
      audits.push(acts.recordAudit({ model: gate.model, version: gate.version, actor: 'mlcycle', action: 'approval-reminder', detail: { pending } }));
    }
  }
  if (!(await condition(decided, total - waited))) {
    setStatus('TimedOut');
    audits.push(
      acts.recordAudit({ model: gate.model, version: gate.version, actor: 'mlcycle', action: 'approval-timeout', detail: { outcome: gate.onTimeout, votes: gate.votes.length } }),
    );
  }
  // Late signals after the gate closed are refused by the same rule; wait for the audit writes.
  await Promise.all(audits);
  if (opts.spec.notify) {
    await acts.notify({ ...opts.spec.notify, id: `${workflowInfo().workflowId}/approval-${gate.status}`, event: `approval.${gate.status.toLowerCase()}`, payload: { ...gate } });
  }
  return gate;
}

/** The approver a statement names, for the refusal record: a claim, never trusted. */
function claimedApprover(input: unknown): string | undefined {
  try {
    const text = (input as { statement?: unknown } | null | undefined)?.statement;
    if (typeof text !== 'string') return undefined;
    const approver = (JSON.parse(text) as { approver?: unknown }).approver;
    return typeof approver === 'string' ? approver.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

export function gateApproved(gate: PendingGate): boolean {
  return gate.status === 'Approved' || (gate.status === 'TimedOut' && gate.onTimeout === 'approve');
}
