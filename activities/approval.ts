import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { promote, rollback } from '../src/deploy/promotion';
import { createModelRegistry } from '../src/registry/model-registry';
import { activeKeys, createTrustRecords } from '../src/registry/trust-records';
import { assertPromotionAllowed, effectiveApproval } from '../src/approval/approval-policy';
import type { ApprovalSpec } from '../src/spec/pipeline-spec';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { registerSecret } from '../src/config/secrets';
import { auditOnce } from './audit-once';
import { NotifyConfigError, resolveNotifyTarget, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, type NotifyTarget, type ResolvedTarget } from '../src/notify/notify-target';

export interface AuditInput {
  model: string;
  version?: number;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
}

/** Names of where to send (the spec's notify section); secrets are resolved by the worker. */
export interface NotifyInput extends Partial<NotifyTarget> {
  /** Stable per event: receivers dedupe on it (Idempotency-Key), retries resend the same id. */
  id: string;
  event: string;
  payload: unknown;
}

export interface PromoteInput {
  model: string;
  version: number;
  alias: string;
  actor: string;
  reason: string;
  /** One key per decision: a retried or replayed promotion moves the alias once. */
  idempotencyKey: string;
}

export interface ApprovalContext {
  /** The gate to open (undefined: none, nothing protects the alias and the spec asks for none). */
  approval?: ApprovalSpec;
  /** Active approver keys by name, from the registry's approver directory. */
  keys: Record<string, string>;
  /** Scope of the policy that applies (a model name or `_default`). */
  policy?: string;
}

export function createApprovalActivities(deps: ActivityDeps) {
  const registry = createModelRegistry({ store: deps.store });
  const trust = createTrustRecords({ store: deps.store });
  return {
    /**
     * What the gate of a run needs from the registry, read once when it opens so the workflow
     * stays deterministic: the policy-merged approval section and the approvers' public keys.
     */
    async approvalContext(input: { model: string; alias: string; approval?: ApprovalSpec }): Promise<ApprovalContext> {
      try {
        const policy = await trust.policyFor(input.model);
        const approval = effectiveApproval(input.approval, policy, input.alias);
        const applies = policy !== undefined && policy.policy.protect.includes(input.alias);
        return { ...(approval ? { approval } : {}), keys: activeKeys(await trust.directory()), ...(applies ? { policy: policy.scope } : {}) };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    async recordAudit(input: AuditInput): Promise<void> {
      try {
        const once = auditOnce();
        await registry.appendAudit({ at: once.at, ...input }, once);
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    /** Webhook notification; non-2xx and network errors are retried with backoff by the activity policy. */
    async notify(input: NotifyInput): Promise<void> {
      const ctx = Context.current();
      let target: ResolvedTarget;
      try {
        target = resolveNotifyTarget({ webhook: input.webhook, webhookEnv: input.webhookEnv, secretEnv: input.secretEnv }, deps.env ?? process.env);
      } catch (err) {
        // A missing variable is fixed by configuring the worker, not by retrying.
        if (err instanceof NotifyConfigError) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      }
      // Whatever their names, the variables a spec points at hold secrets: a URL from the
      // environment may itself be one, and the signing key is. Redacted like the secret-named ones.
      if (input.webhookEnv) registerSecret(input.webhookEnv, target.url);
      if (input.secretEnv) registerSecret(input.secretEnv, target.secret);
      const body = JSON.stringify({ id: input.id, event: input.event, attempt: ctx.info.attempt, payload: input.payload });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': input.id };
      if (target.secret) {
        const timestamp = String(Math.floor(Date.now() / 1000));
        headers[TIMESTAMP_HEADER] = timestamp;
        headers[SIGNATURE_HEADER] = signBody(target.secret, timestamp, body);
      }
      let res: Response;
      try {
        res = await fetch(target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        // The label, not the URL: a URL from the environment may itself be the secret.
        throw ApplicationFailure.retryable(`webhook ${target.label} unreachable: ${(err as Error).message}`, 'WEBHOOK_UNREACHABLE');
      }
      if (!res.ok) throw ApplicationFailure.retryable(`webhook ${target.label} answered ${res.status}`, 'WEBHOOK_FAILED');
    },

    /**
     * Moves an alias for the pipeline's deployment and for hand-made promotions (promoteAliasWorkflow):
     * the worker, not the caller, reads the policy from the registry and refuses (DECISION_REFUSED,
     * naming the policy and what is missing) a protected alias without signed decisions of exactly
     * this version meeting it. The registry's setAlias checks the same again as it writes.
     */
    async promoteModel(input: PromoteInput): Promise<{ moved: boolean; previous: number | null; serving: number | null }> {
      try {
        await assertPromotionAllowed(registry, trust, input);
        const r = await promote(deps.store, registry, input);
        // A retry after this decision already moved the alias finds its key in the alias history and
        // answers moved=false with the holder before the move: that is still the move this call made.
        return { ...r, moved: r.moved || r.previous !== input.version };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    /**
     * Moves an alias back to its previous holder. For a protected alias the registry's rollback,
     * run here with the worker's credentials, re-checks the previous holder's signed approvals
     * against the policy (DECISION_REFUSED, non-retryable, when they do not meet it). The key makes
     * a retry after the write answer the same rollback, not roll back twice.
     */
    async rollbackModel(input: { model: string; alias: string; actor: string; reason: string; idempotencyKey: string }): Promise<{ from: number; to: number }> {
      try {
        return await rollback(deps.store, registry, input);
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}
