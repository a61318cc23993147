import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export interface VoteInput {
  identity: string;
  comment?: string;
  /** Required for a rejection. */
  reason?: string;
}

export interface DecisionInput extends VoteInput {
  decision: 'approve' | 'reject';
}

export interface Vote {
  identity: string;
  decision: 'approve' | 'reject';
  comment?: string;
  reason?: string;
  /** Workflow time of the decision (ISO). */
  at: string;
  via: 'signal' | 'update';
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
}

export const approveSignal = defineSignal<[VoteInput]>('approve');
export const rejectSignal = defineSignal<[VoteInput]>('reject');
/** The validated path: a refused decision never reaches history. */
export const decideUpdate = defineUpdate<PendingGate, [DecisionInput]>('decide');
export const approvalQuery = defineQuery<PendingGate | null>('approval');
