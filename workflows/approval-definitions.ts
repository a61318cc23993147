import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { formatIssues } from '../src/config/zod-issues';

/** A vote as a signal carries it (the schema below is its one declaration). */
export type VoteInput = z.infer<typeof VoteInputSchema>;
/** A decision as the `decide` update carries it. */
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

export interface Vote {
  identity: string;
  decision: 'approve' | 'reject';
  comment?: string;
  reason?: string;
  /** Workflow time of the decision (ISO). */
  at: string;
  via: 'signal' | 'update';
  /** Signed gates: the exact statement the approver signed and the signature (base64). */
  statement?: string;
  signature?: string;
}

export type GateStatus = 'Pending' | 'Approved' | 'Rejected' | 'TimedOut';

export interface PendingGate {
  model: string;
  version: number;
  metrics: Record<string, number>;
  reports: Record<string, string>;
  approvers: string[];
  required: number;
  votes: Vote[];
  /** Votes that were refused (signals cannot be refused before history; they are recorded here). */
  refused: Array<{ identity: string; reason: string; at: string }>;
  status: GateStatus;
  deadline: string;
  onTimeout: 'approve' | 'reject';
  /** What a signed statement must bind: the run (true for every gate opened since signed approvals). */
  signed?: boolean;
  workflowId?: string;
  runId?: string;
  /** The registry policy that set the approvers and quorum (its scope: a model or `_default`). */
  policy?: string;
}

const MAX_TEXT = 10_000;
const text = (what: string) =>
  z
    .string({
      error: (iss) =>
        iss.input === undefined ? `missing: expected ${what}` : `expected ${what} as a string, got ${iss.input === null ? 'null' : Array.isArray(iss.input) ? 'an array' : typeof iss.input}`,
    })
    .max(MAX_TEXT, `at most ${MAX_TEXT} characters`);

const voteShape = {
  identity: text('the approver identity').refine((s) => s.trim() !== '', 'cannot be empty'),
  comment: text('a comment').optional(),
  /** Required for a rejection. */
  reason: text('a reason').optional(),
};
// Only for a payload that is no object: other issues at this level (unknown keys) keep zod's message.
const objectError = (what: string) => (iss: { code?: string; input?: unknown }) =>
  iss.code === 'invalid_type' ? `expected ${what} object, got ${iss.input === null ? 'null' : Array.isArray(iss.input) ? 'an array' : typeof iss.input}` : undefined;

/** A vote as signals carry it; unknown fields are refused, so a misspelt one is named, not ignored. */
export const VoteInputSchema = z.object(voteShape, { error: objectError('a vote { identity, comment?, reason? }') }).strict();
/** A decision as the `decide` update carries it. */
export const DecisionInputSchema = z
  .object(
    { decision: z.enum(['approve', 'reject'], { error: (iss) => (iss.input === undefined ? 'missing: expected "approve" or "reject"' : 'expected "approve" or "reject"') }), ...voteShape },
    { error: objectError('a decision { decision, identity, comment?, reason? }') },
  )
  .strict();

/**
 * Checks a decision's shape; throws an Error naming every bad field (`identity: …; reason: …`).
 * Pure zod, so the workflow's update validator and signal handlers can use it.
 */
export function parseDecisionInput(input: unknown): DecisionInput {
  const r = DecisionInputSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid decision: ${formatIssues(r.error).split('\n').join('; ')}`);
  return r.data;
}

/** The same for a vote signal (the decision comes from the signal's name). */
export function parseVoteInput(input: unknown): VoteInput {
  const r = VoteInputSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid vote: ${formatIssues(r.error).split('\n').join('; ')}`);
  return r.data;
}

/** Signals and the update carry a SignedVote (`{statement, signature}`); typed unknown because anyone can send anything. */
export const approveSignal = defineSignal<[unknown]>('approve');
export const rejectSignal = defineSignal<[unknown]>('reject');
/** The validated path: a refused decision never reaches history. */
export const decideUpdate = defineUpdate<PendingGate, [unknown]>('decide');
export const approvalQuery = defineQuery<PendingGate | null>('approval');
