import type { ModelRegistry } from '../registry/model-registry';
import { syncDeploymentRecord } from '../serving/deployment-record';
import type { ArtifactStore } from '../storage/artifact-store';

/**
 * Moves an alias and the serving route together: the registry alias says which version holds
 * `production`, the deployment record is what running prediction services follow. The record is
 * then synced to whatever the alias holds — not to `version`: when the alias did not move (this
 * decision was already carried out, and perhaps rolled back by hand since), routing stays where
 * the alias is. A retry after a crash between the two writes converges the same way.
 */
export async function promote(
  store: ArtifactStore,
  registry: ModelRegistry,
  m: { model: string; alias: string; version: number; actor: string; reason: string; idempotencyKey?: string },
): Promise<{ moved: boolean; previous: number | null; serving: number | null }> {
  const r = await registry.setAlias(m.model, m.alias, m.version, { actor: m.actor, reason: m.reason, ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}) });
  const { record } = await syncDeploymentRecord(store, registry, m.model, m.alias, { canary: null, reason: m.reason });
  return { ...r, serving: record?.stable.version ?? null };
}

export async function rollback(
  store: ArtifactStore,
  registry: ModelRegistry,
  m: { model: string; alias: string; actor: string; reason: string; idempotencyKey?: string },
): Promise<{ from: number; to: number }> {
  const r = await registry.rollbackAlias(m.model, m.alias, { actor: m.actor, reason: m.reason, ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}) });
  await syncDeploymentRecord(store, registry, m.model, m.alias, { canary: null, reason: m.reason });
  return r;
}
