import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { promote } from '../src/deploy/promotion';
import { createModelRegistry } from '../src/registry/model-registry';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';

export interface AuditInput {
  model: string;
  version?: number;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
}

export interface NotifyInput {
  webhook: string;
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

export function createApprovalActivities(deps: ActivityDeps) {
  const registry = createModelRegistry({ store: deps.store });
  return {
    async recordAudit(input: AuditInput): Promise<void> {
      try {
        await registry.appendAudit({ at: new Date().toISOString(), ...input });
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    /** Webhook notification; non-2xx and network errors are retried with backoff by the activity policy. */
    async notify(input: NotifyInput): Promise<void> {
      const ctx = Context.current();
      let res: Response;
      try {
        res = await fetch(input.webhook, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': input.id },
          body: JSON.stringify({ id: input.id, event: input.event, attempt: ctx.info.attempt, payload: input.payload }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        throw ApplicationFailure.retryable(`webhook ${input.webhook} unreachable: ${(err as Error).message}`, 'WEBHOOK_UNREACHABLE');
      }
      if (!res.ok) throw ApplicationFailure.retryable(`webhook ${input.webhook} answered ${res.status}`, 'WEBHOOK_FAILED');
    },

    async promoteModel(input: PromoteInput): Promise<{ moved: boolean; previous: number | null }> {
      try {
        return await promote(deps.store, registry, input);
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}
