/**
 * The deployment record: which version(s) of a model the prediction servers of one alias serve.
 * Every server follows it (see prediction-server.ts). It is stored as numbered states
 * (numbered-states.ts), never overwritten:
 *
 *   deployments/<model>/<alias>/000001.json, 000002.json, …   the highest is the current record
 *   { model, alias, stable: { version }, canary?: { version, percent }, updatedAt, reason? }
 *
 * Invariant: `stable` is the version the registry alias holds. Every change goes through
 * `syncDeploymentRecord`, which reads the record, then the alias, then conditionally creates the
 * next state; a writer that loses the race re-reads both. So whatever order a deployment, a manual
 * rollback and a retried promotion interleave in, the last state names the alias's holder, and a
 * write that would change nothing is not made (routing only moves when the alias did).
 * The canary part belongs to the one deployment workflow of the alias (`deploy-<model>-<alias>`).
 *
 * With no record the servers serve whatever the registry alias points at, so a model needs no
 * deployment workflow to be served, and a record only takes over once a rollout writes one.
 */
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import { ALIAS_NAME, MODEL_NAME } from '../registry/model-registry';
import type { ModelRegistry } from '../registry/model-registry';
import type { NamedStore } from '../storage/artifact-store';
import { readLatestState, updateState } from '../storage/numbered-states';

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

/** The folder of the record's numbered states. */
export function deploymentRecordPrefix(model: string, alias: string): string {
  return `deployments/${model}/${alias}/`;
}

/** Where records lived before they were numbered states (one overwritten object); read as a fallback. */
const legacyRecordKey = (model: string, alias: string): string => `deployments/${model}/${alias}.json`;

/** Validates a record (e.g. one read back or about to be written); DATA_INVALID naming the field. */
export function parseDeploymentRecord(value: unknown, where = 'deployment record'): DeploymentRecord {
  const result = DeploymentRecordSchema.safeParse(value);
  if (!result.success) {
    throw new MlcycleError('DATA_INVALID', `${where} is malformed:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

function checkedFor(model: string, alias: string) {
  return (raw: unknown, where: string): DeploymentRecord => {
    const record = parseDeploymentRecord(raw, `deployment record ${where}`);
    if (record.model !== model || record.alias !== alias) {
      throw new MlcycleError('DATA_INVALID', `deployment record ${where} is for ${record.model}@${record.alias}, not ${model}@${alias}`);
    }
    return record;
  };
}

/** A writer replaces a damaged latest state instead of being blocked by it. */
function tolerant(model: string, alias: string) {
  const check = checkedFor(model, alias);
  return (raw: unknown, where: string): DeploymentRecord | undefined => {
    try {
      return check(raw, where);
    } catch {
      return undefined;
    }
  };
}

/** undefined when no record exists for the alias (the servers then follow the registry alias). */
export async function readDeploymentRecord(
  store: NamedStore,
  model: string,
  alias: string,
): Promise<DeploymentRecord | undefined> {
  const { seq, value } = await readLatestState(store, deploymentRecordPrefix(model, alias), checkedFor(model, alias));
  if (seq > 0) return value;
  const legacy = await store.getNamed(legacyRecordKey(model, alias));
  if (legacy === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(legacy.toString('utf8'));
  } catch (err) {
    throw new MlcycleError('DATA_INVALID', `deployment record ${store.uriForKey(legacyRecordKey(model, alias))} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return checkedFor(model, alias)(raw, store.uriForKey(legacyRecordKey(model, alias)));
}

function validated(record: Omit<DeploymentRecord, 'updatedAt'> & { updatedAt?: string }): DeploymentRecord {
  const result = DeploymentRecordSchema.safeParse({ ...record, updatedAt: record.updatedAt ?? new Date().toISOString() });
  if (!result.success) {
    throw new MlcycleError('USAGE', `invalid deployment record:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

/**
 * Writes the record as given, as the next state, whatever the alias holds: for tests and repair
 * tools. The product writes through `syncDeploymentRecord`. USAGE when the record is invalid,
 * before anything is written. Returns the record as stored.
 */
export async function writeDeploymentRecord(
  store: NamedStore,
  record: Omit<DeploymentRecord, 'updatedAt'> & { updatedAt?: string },
): Promise<DeploymentRecord> {
  const stored = validated(record);
  await updateState(store, deploymentRecordPrefix(stored.model, stored.alias), tolerant(stored.model, stored.alias), async () => ({ next: stored, result: undefined }));
  return stored;
}

export interface RecordChange {
  /** undefined keeps the current canary (if it still differs from stable), null ends it. */
  canary?: { version: number; percent: number } | null;
  reason: string;
}

/**
 * Compare-and-set of the record to "stable = the version the alias holds now" plus the requested
 * canary change. Reads the record first and the alias second, so a concurrent alias move either
 * happened before this read (and is seen) or its own sync comes after this write (and wins the
 * next state). Writes nothing when the alias holds nothing (servers follow the alias) or when the
 * record already says the same. Returns the record in force afterwards.
 */
export async function syncDeploymentRecord(
  store: NamedStore,
  registry: Pick<ModelRegistry, 'resolveAlias'>,
  model: string,
  alias: string,
  change: RecordChange,
): Promise<{ record: DeploymentRecord | undefined; written: boolean }> {
  const { result, written } = await updateState(store, deploymentRecordPrefix(model, alias), tolerant(model, alias), async (current) => {
    const holder = (await registry.resolveAlias(model, alias))?.version;
    if (holder === undefined) return { result: current.value };
    const wanted = change.canary === undefined ? current.value?.canary : (change.canary ?? undefined);
    const canary = wanted && wanted.version !== holder ? wanted : undefined;
    const same =
      current.value !== undefined &&
      current.value.stable.version === holder &&
      current.value.canary?.version === canary?.version &&
      current.value.canary?.percent === canary?.percent;
    if (same) return { result: current.value };
    const next = validated({ model, alias, stable: { version: holder }, ...(canary ? { canary } : {}), reason: change.reason });
    return { next, result: next };
  });
  return { record: result, written };
}
