import type { S3Settings } from '../config/env';
import type { AliasMover } from './alias-moves';
import { promote, rollback } from '../deploy/promotion';
import { MlcycleError } from '../errors';
import { createModelRegistry, type ModelRegistry, type ModelVersion } from '../registry/model-registry';
import { createArtifactStore, type ArtifactStore } from '../storage/artifact-store';
import { checkS3Reachable, createS3Client } from '../storage/s3-client';

/** One registered model as `models.list()` (and `mlcycle models list --json`) reports it. */
export interface ModelSummary {
  name: string;
  latestVersion: number;
  /** Alias → version, e.g. `{ production: 3 }`. */
  aliases: Record<string, number>;
}

/** A model's versions and aliases, as `models.show()` (and `mlcycle models show --json`) reports them. */
export interface ModelDetails {
  name: string;
  aliases: Record<string, number>;
  /** Ascending by version, each with its metrics, lineage and report URIs. */
  versions: ModelVersion[];
}

/** Who moves an alias and why; both go to the registry's audit log. */
export interface AliasChange {
  /** The alias to move (default `production`). */
  alias?: string;
  /** Who moves it (default `$USER`, else `api`). */
  actor?: string;
  reason?: string;
}

/** What a promotion did: `moved` is false when the alias already held the version. */
export interface PromoteOutcome {
  moved: boolean;
  previous: number | null;
  /** The version the deployment record routes to afterwards. */
  serving: number | null;
  /**
   * Set when a worker carried the promotion out but its answer could not be decoded here (it used
   * a payload key this client lacks): the alias held the version when the worker finished, and
   * moved, previous and serving are not known (false, null, null).
   */
  unreadable?: string;
}

/** What a rollback did: the alias moved from one version back to the one that held it before. */
export interface RollbackOutcome {
  /** null only with `unreadable`. */
  from: number | null;
  /** null only with `unreadable`. */
  to: number | null;
  /**
   * Set when a worker carried the rollback out but its answer could not be decoded here (it used a
   * payload key this client lacks): the alias was rolled back, from and to are not known (null).
   */
  unreadable?: string;
}

/**
 * The model registry in the artifact store (S3/MinIO), as users read and steer it: list, show,
 * promote, roll back. Each read opens its own S3 client and checks the store is reachable first,
 * so a wrong endpoint fails with SERVICE_UNREACHABLE naming it.
 *
 * Alias moves go through `mover` when there is one (`MlcycleClient.models`: a cpu worker carries
 * them out through Temporal, with the worker's storage credentials and its own policy check, so
 * the caller needs none); without one they are written from this process (`mlcycle models
 * promote --direct`), where the registry still refuses a protected alias without signed approvals.
 */
export class ModelCatalog {
  /**
   * @param settings where the registry lives (bucket, prefix, endpoint, credentials); needed for
   *   reads and for moves without a mover.
   * @param mover who carries out promotions and rollbacks instead of this process.
   */
  constructor(
    readonly settings?: S3Settings,
    private readonly mover?: AliasMover,
  ) {}

  /** Runs `fn` with the registry and its store; for callers that need more than this class offers. */
  async withRegistry<T>(fn: (registry: ModelRegistry, store: ArtifactStore) => Promise<T>): Promise<T> {
    if (!this.settings) throw new MlcycleError('CONFIG_INVALID', 's3: this client was connected without registry settings; pass s3 to connect() or use fromEnv()');
    const client = createS3Client(this.settings);
    try {
      await checkS3Reachable(client, this.settings);
      const store = createArtifactStore({ client, bucket: this.settings.bucket, prefix: this.settings.prefix });
      return await fn(createModelRegistry({ store }), store);
    } finally {
      client.destroy();
    }
  }

  /** Every registered model with its latest version and aliases. */
  list(): Promise<ModelSummary[]> {
    return this.withRegistry((registry) => registry.listModels());
  }

  /** The versions of one model; NOT_FOUND for an unknown model. */
  show(name: string): Promise<ModelDetails> {
    return this.withRegistry(async (registry) => {
      const [versions, aliases] = await Promise.all([registry.listVersions(name), registry.getAliases(name)]);
      return { name, aliases, versions };
    });
  }

  /**
   * Points an alias (default `production`) at a version and moves the serving route with it. A
   * protected alias needs the signed approvals of this version its policy asks for
   * (DECISION_REFUSED naming the policy and what is missing: the worker checks before it writes,
   * and the registry's setAlias checks whoever calls it); NOT_FOUND for an unknown version.
   */
  async promote(name: string, version: number, change: AliasChange = {}): Promise<PromoteOutcome> {
    if (!Number.isInteger(version) || version < 1) throw new MlcycleError('USAGE', `version: expected a whole number >= 1, got ${version}`);
    const alias = change.alias ?? 'production';
    const actor = change.actor ?? defaultActor();
    const reason = change.reason ?? 'manual promotion';
    if (this.mover) return this.mover.promote({ model: name, version, alias, actor, reason });
    return this.withRegistry(async (registry, store) => {
      if (!(await registry.getVersion(name, version))) throw new MlcycleError('NOT_FOUND', `model "${name}" has no version ${version}`);
      // The registry itself refuses a protected alias without the policy's signed approvals (DECISION_REFUSED).
      return promote(store, registry, { model: name, alias, version, actor, reason });
    });
  }

  /**
   * Moves an alias (default `production`) back to its previous holder, serving route included. A
   * protected alias goes back only to a version whose signed approvals meet its policy now
   * (DECISION_REFUSED naming what is missing, checked by the worker and by the registry).
   */
  rollback(name: string, change: AliasChange = {}): Promise<RollbackOutcome> {
    const move = { model: name, alias: change.alias ?? 'production', actor: change.actor ?? defaultActor(), reason: change.reason ?? 'manual rollback' };
    if (this.mover) return this.mover.rollback(move);
    return this.withRegistry((registry, store) => rollback(store, registry, move));
  }
}

function defaultActor(): string {
  return process.env.USER ?? 'api';
}
