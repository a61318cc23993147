import { ApplicationFailure } from '@temporalio/common';
import { auditOnce } from './audit-once';
import { readGuardrails, type GuardrailLimits, type GuardrailReading } from '../src/deploy/guardrails';
import { promote } from '../src/deploy/promotion';
import { createModelRegistry } from '../src/registry/model-registry';
import { createTrustRecords } from '../src/registry/trust-records';
import { assertPromotionAllowed } from '../src/approval/approval-policy';
import { syncDeploymentRecord } from '../src/serving/deployment-record';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';

export interface CanaryTarget {
  model: string;
  alias: string;
  version: number;
}

/** The deployment saga's steps; each is idempotent, so retries and replays are safe. */
export function createDeployActivities(deps: ActivityDeps) {
  const registry = createModelRegistry({ store: deps.store });
  const trust = createTrustRecords({ store: deps.store });
  return {
    /** Routes `percent` of traffic to the candidate; returns the stable version (null: nothing serves yet). */
    async startCanary(input: CanaryTarget & { percent: number; reason: string }): Promise<{ stable: number | null }> {
      try {
        // Stable is whatever the alias holds; the record is changed by compare-and-set, so a
        // concurrent alias move is never overwritten with a stale stable version.
        const stable = (await registry.resolveAlias(input.model, input.alias))?.version ?? null;
        if (stable === null || stable === input.version) return { stable };
        // Serving a protected alias's traffic is deploying to it, even a share of it.
        await assertPromotionAllowed(registry, trust, input);
        await syncDeploymentRecord(deps.store, registry, input.model, input.alias, {
          canary: { version: input.version, percent: input.percent },
          reason: input.reason,
        });
        const once = auditOnce();
        await registry.appendAudit({ at: once.at, actor: 'deployment', action: 'canary-start', model: input.model, version: input.version, alias: input.alias, detail: { percent: input.percent, stable } }, once);
        return { stable };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    async checkGuardrails(input: { serviceUrl: string; version: number; limits: GuardrailLimits }): Promise<GuardrailReading> {
      let text: string;
      try {
        // A service started with --token-file wants the same token (MLCYCLE_SERVE_TOKEN on the worker).
        const token = (deps.env ?? process.env).MLCYCLE_SERVE_TOKEN;
        const res = await fetch(`${input.serviceUrl.replace(/\/$/, '')}/metrics`, { signal: AbortSignal.timeout(5000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
        if (!res.ok) throw new Error(`answered ${res.status}`);
        text = await res.text();
      } catch (err) {
        // Retried by the activity policy; a service that stays dark fails the deployment, which rolls back.
        throw ApplicationFailure.retryable(`prediction service metrics at ${input.serviceUrl}/metrics unreachable: ${(err as Error).message}`, 'SERVICE_UNREACHABLE');
      }
      return readGuardrails(text, input.version, input.limits);
    },

    /** Ends a canary: promote moves the alias (once per decision) and routes everything to it; rollback restores stable. */
    async finishCanary(input: CanaryTarget & { stable: number | null; outcome: 'promote' | 'rollback'; reason: string; idempotencyKey: string }): Promise<{ serving: number | null }> {
      try {
        if (input.outcome === 'promote') {
          await assertPromotionAllowed(registry, trust, input);
          const { serving } = await promote(deps.store, registry, { model: input.model, alias: input.alias, version: input.version, actor: 'deployment', reason: input.reason, idempotencyKey: input.idempotencyKey });
          return { serving };
        }
        // Ends the canary; stable stays the alias's holder (which a manual move may have changed).
        const { record } = await syncDeploymentRecord(deps.store, registry, input.model, input.alias, { canary: null, reason: input.reason });
        const restored = record?.stable.version ?? input.stable;
        const once = auditOnce();
        await registry.appendAudit({ at: once.at, actor: 'deployment', action: 'canary-rollback', model: input.model, version: input.version, alias: input.alias, detail: { reason: input.reason, restored } }, once);
        return { serving: restored };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}
