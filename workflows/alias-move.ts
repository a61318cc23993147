import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { refuseUndecodableInput } from './input-guard';
import { installationPrefix } from './installation-prefix';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors';

/** A hand-made alias move (`mlcycle models promote|rollback`, `client.models.*`), carried out by a worker. */
export interface AliasMoveInput {
  model: string;
  alias: string;
  /** Who asked (audit log). A claim: what authorises a move of a protected alias is the signed decisions. */
  actor: string;
  reason: string;
  /** The cpu task queue: its workers hold the storage credentials and do the write. */
  queue: string;
}

export interface PromoteAliasInput extends AliasMoveInput {
  version: number;
}

export interface PromoteAliasResult {
  moved: boolean;
  previous: number | null;
  /** The version the deployment record routes to afterwards. */
  serving: number | null;
}

// Registry writes ride out a short storage outage; a refusal (DECISION_REFUSED, NOT_FOUND) is final.
const acts = (queue: string) =>
  proxyActivities<Activities>({
    taskQueue: queue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });

/**
 * Points an alias at a version. The worker's activity reads the approval policy from the registry
 * and, for a protected alias, refuses (DECISION_REFUSED) unless signed decisions of exactly this
 * version meet it; the run's id is the move's idempotency key, so a retried activity moves once.
 */
export async function promoteAliasWorkflow(input: PromoteAliasInput): Promise<PromoteAliasResult> {
  refuseUndecodableInput(input);
  const { workflowId, runId } = workflowInfo();
  return acts(input.queue).promoteModel({
    model: input.model,
    version: input.version,
    alias: input.alias,
    actor: input.actor,
    reason: input.reason,
    idempotencyKey: `${workflowId}/${runId}`,
  });
}

/**
 * Points an alias back at its previous holder. For a protected alias the worker's activity refuses
 * (DECISION_REFUSED) unless that version's signed approvals meet the policy now: having held the
 * alias once is not an approval.
 */
export async function rollbackAliasWorkflow(input: AliasMoveInput): Promise<{ from: number; to: number }> {
  refuseUndecodableInput(input);
  const { workflowId, runId } = workflowInfo();
  return acts(input.queue).rollbackModel({ model: input.model, alias: input.alias, actor: input.actor, reason: input.reason, idempotencyKey: `${workflowId}/${runId}` });
}

/**
 * The one workflow id hand-made moves of (model, alias) run under, promotions and rollbacks alike:
 * Temporal refuses a second open one, so two moves of one alias never overlap; with the
 * ALLOW_DUPLICATE reuse policy, moves one after another each get a run. A queue prefix
 * (MLCYCLE_QUEUE_PREFIX) gives installations sharing a namespace their own, as for deployments.
 */
export function aliasMoveId(model: string, alias: string, cpuQueue = 'cpu'): string {
  return `${installationPrefix(cpuQueue)}promote-${model}-${alias}`;
}
