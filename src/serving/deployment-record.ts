/**
 * The deployment record: which version(s) of a model the prediction servers of one alias serve.
 * The deployment workflow writes it, every server follows it (see prediction-server.ts), stored as
 * one named object in the artifact store:
 *
 *   deployments/<model>/<alias>.json
 *   { model, alias, stable: { version }, canary?: { version, percent }, updatedAt, reason? }
 *
 * It is a plain overwrite (last writer wins): the deployment workflow is the one writer per alias,
 * and the registry's alias history is the audit trail. With no record the servers serve whatever
 * the registry alias points at (`registry.resolveAlias(model, alias)`), so a model needs no
 * deployment workflow to be served, and a record only takes over once a rollout writes one.
 */
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import { ALIAS_NAME, MODEL_NAME } from '../registry/model-registry';
import type { ArtifactStore } from '../storage/artifact-store';

const positiveInt = z.number().int().positive();

export const DeploymentRecordSchema = z
  .object({
    model: z.string().regex(MODEL_NAME, 'expected 1-63 characters of a-z 0-9 - _, starting with a letter or digit'),
    alias: z.string().regex(ALIAS_NAME, 'expected 1-32 characters of a-z 0-9 - _, starting with a letter'),
    stable: z.object({ version: positiveInt }),
    /** `percent` of requests (0-100) go to the canary; the rest to stable. */
    canary: z
      .object({ version: positiveInt, percent: z.number().min(0, 'must be >= 0').max(100, 'must be <= 100') })
      .optional(),
    updatedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 timestamp'),
    reason: z.string().optional(),
  })
  .refine((r) => r.canary === undefined || r.canary.version !== r.stable.version, {
    message: 'the canary must be a different version than stable',
    path: ['canary', 'version'],
  });

export type DeploymentRecord = z.infer<typeof DeploymentRecordSchema>;

export function deploymentRecordKey(model: string, alias: string): string {
  return `deployments/${model}/${alias}.json`;
}

/** Validates a record (e.g. one read back or about to be written); DATA_INVALID naming the field. */
export function parseDeploymentRecord(value: unknown, where = 'deployment record'): DeploymentRecord {
  const result = DeploymentRecordSchema.safeParse(value);
  if (!result.success) {
    throw new MlcycleError('DATA_INVALID', `${where} is malformed:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

/** undefined when no record exists for the alias (the servers then follow the registry alias). */
export async function readDeploymentRecord(
  store: ArtifactStore,
  model: string,
  alias: string,
): Promise<DeploymentRecord | undefined> {
  const key = deploymentRecordKey(model, alias);
  const bytes = await store.getNamed(key);
  if (bytes === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MlcycleError('DATA_INVALID', `deployment record ${store.uriForKey(key)} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const record = parseDeploymentRecord(raw, `deployment record ${store.uriForKey(key)}`);
  if (record.model !== model || record.alias !== alias) {
    throw new MlcycleError(
      'DATA_INVALID',
      `deployment record ${store.uriForKey(key)} is for ${record.model}@${record.alias}, not ${model}@${alias}`,
    );
  }
  return record;
}

/**
 * Writes (overwrites) the record for its model and alias; `updatedAt` defaults to now. USAGE when
 * the record is invalid, before anything is written. Returns the record as stored.
 */
export async function writeDeploymentRecord(
  store: ArtifactStore,
  record: Omit<DeploymentRecord, 'updatedAt'> & { updatedAt?: string },
): Promise<DeploymentRecord> {
  const result = DeploymentRecordSchema.safeParse({ ...record, updatedAt: record.updatedAt ?? new Date().toISOString() });
  if (!result.success) {
    throw new MlcycleError('USAGE', `invalid deployment record:\n${formatIssues(result.error)}`);
  }
  const stored = result.data;
  await store.putNamed(deploymentRecordKey(stored.model, stored.alias), JSON.stringify(stored), {
    contentType: 'application/json',
  });
  return stored;
}
