import type { ModelRegistry } from '../registry/model-registry';
import { writeDeploymentRecord } from '../serving/deployment-record';
import type { ArtifactStore } from '../storage/artifact-store';

/**
 * Moves an alias and the serving route together: the registry alias says which version holds
 * `production`, the deployment record is what running prediction services follow. Both writes are
 * idempotent, so a retry after a crash between them converges.
 */
export async function promote(
  store: ArtifactStore,
  registry: ModelRegistry,
  m: { model: string; alias: string; version: number; actor: string; reason: string; idempotencyKey?: string },
): Promise<{ moved: boolean; previous: number | null }> {
  const r = await registry.setAlias(m.model, m.alias, m.version, { actor: m.actor, reason: m.reason, ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}) });
  await writeDeploymentRecord(store, { model: m.model, alias: m.alias, stable: { version: m.version }, reason: m.reason });
  return r;
}

export async function rollback(
  store: ArtifactStore,
  registry: ModelRegistry,
  m: { model: string; alias: string; actor: string; reason: string },
): Promise<{ from: number; to: number }> {
  const r = await registry.rollbackAlias(m.model, m.alias, { actor: m.actor, reason: m.reason });
  await writeDeploymentRecord(store, { model: m.model, alias: m.alias, stable: { version: r.to }, reason: m.reason });
  return r;
}
