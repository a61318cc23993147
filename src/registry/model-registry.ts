/**
 * The model registry: versions, aliases and an audit trail, stored entirely as JSON objects in the
 * artifact store under `registry/`:
 *
 *   registry/<model>/versions/000001.json             one immutable record per version
 *   registry/<model>/requests/<sha256(key)>/000001.json the claims of one register() request
 *   registry/<model>/aliases/<alias>/000001.json      successive states of an alias {version, history}
 *   registry/<model>/audit/<time>-<suffix>[--<action>].json one immutable object per audit entry
 *   registry/<model>/version-packs/000001-000025.json  versions 1-25 in one object (a read cache)
 *   registry/_models/<model>.json                     index of model names, for listModels()
 *
 * There is no database and no lock service, and nothing is ever overwritten: every write is a
 * conditional create (`putNamed(key, body, { ifNoneMatch: true })`, S3's If-None-Match: *), which
 * exactly one of any number of concurrent writers of a key wins. That one primitive gives both
 * atomic allocation and optimistic concurrency:
 *
 * ## Sequences as compare-and-swap
 * A mutable value (an alias, a request's claim) is a folder of numbered states; the current state
 * is the highest number. Changing it means reading state n and creating n+1: if someone else
 * created n+1 first, the create fails and the caller re-reads and decides again. That is an If-Match
 * update without If-Match (the artifact store offers none, and the registry needs nothing but the
 * store), and the old states are the history for free. Listing is strongly consistent on S3 and
 * MinIO, so "the highest number" is never stale.
 *
 * ## Version numbers
 * A version is taken by creating `versions/<n>.json`. Exactly one writer can create a given n; a
 * loser reads the record that won and moves on to a higher n. A slot is only ever tried when every
 * lower one was seen taken, so numbers are consecutive: no gaps, no reuse, none lost.
 *
 * ## Idempotency (register)
 * Every version record carries its request's idempotency key, and the request's claim (the
 * highest state under `requests/<sha256(key)>/`) names the slot the request is about to try. The
 * rule that makes retries safe:
 *
 *   a request only ever writes its version into the slot its current claim names, and only claims
 *   a later slot (a new state, by conditional create) after reading that the named slot holds
 *   another request's version.
 *
 * A slot, once taken, never changes hands, so a key lands in at most one slot; whoever reads the
 * claim next (a retry, or a duplicate running concurrently) tries that same slot first and finds
 * either its key (→ that version, created=false) or a stranger (→ claim the next free slot). The
 * claim is not a lock: nothing waits on it, so one left behind by a crash blocks nothing.
 *
 * Crash windows, and what a retry with the same key finds:
 *   1. before the first claim: nothing was written (except perhaps the model's index entry, which
 *      listModels ignores until a version exists); the retry starts afresh.
 *   2. claim written (slot n), version record not: the retry tries slot n; if another version took
 *      n meanwhile, it claims the next free one. No gap: n was used by whoever got there.
 *   3. version record written, nothing after it: the retry tries slot n, reads its own key there and
 *      returns that version with created=false.
 *   4. version written, its "model.registered" audit entry not: audit keys of registrations are
 *      deterministic (`<createdAt>-v<n>-registered`) and every register() that returns a version
 *      (re)creates that entry conditionally, so the retry fills the hole.
 * A version record is only written after a claim names its slot, so "a version with my key that my
 * claim does not name" cannot arise from this code (a hand-made one would not be found by key).
 * A key re-used with different inputs returns the first registration unchanged.
 *
 * ## Aliases
 * Each state of an alias holds the whole record {version, history, noops}. A move creates the next
 * state; losing that race means someone moved it in between, so the call re-reads and decides again
 * (`expectedCurrent` included), which is what makes "exactly one of several concurrent conditional
 * moves wins" hold. With an idempotency key the decision is recorded in the same write (a move in
 * `history`, a non-move in `noops`), so the same key seen again answers moved=false without
 * deciding again. A move onto an alias the trust policy protects is refused (DECISION_REFUSED)
 * unless signed approvals of that version meet the policy: the check lives here so that no caller
 * (CLI, client API, console, activity) can move a protected alias around it. Moves are audited under deterministic keys (`<at>-alias-<alias>-<seq>`); a crash
 * between a move and its audit entry is healed by the next call that moves, rolls back or replays
 * that alias (it re-creates the latest move's entry if missing).
 *
 * ## Audit
 * Append-only: every entry is a new object, never overwritten. Keys start with a fixed-width UTC
 * timestamp, so listing order is chronological (to the millisecond). A key also says which action
 * its entry records (`-v<n>-registered`, `-alias-<alias>-<seq>`, or `--<action>` on appended
 * entries), so a page of the log, or only its alias moves and canaries, is one listing plus a read
 * of just the entries shown: a model page with 1,000 entries does not cost 1,000 reads. Entries
 * written before keys carried their action are read to learn it.
 *
 * ## Version packs
 * Versions never change and their numbers have no gaps, so versions k·25+1 … k·25+25, once all
 * exist, are also stored together in one pack object: listVersions reads the packs plus the few
 * records after the last full pack instead of one object per version. A pack is derived data,
 * created conditionally like everything else (by the registration that completes its block, or by
 * the first listVersions that finds it missing); the version records stay the truth, and
 * registration never depends on a pack.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { NamedStore } from '../storage/artifact-store';
import { assertPromotionAllowed } from '../approval/approval-policy';
import { ALIAS_NAME, AUDIT_PAGE_MAX, MODEL_NAME } from './registry-names';
import { createTrustRecords } from './trust-records';

// The boundary shapes are the zod schemas below (`z.infer`): one declaration each.
export type Lineage = z.infer<typeof lineageSchema>;
export type ModelVersion = z.infer<typeof modelVersionSchema>;
export type AuditEntry = z.infer<typeof auditEntrySchema>;
/** The registry's input (the registerModel activity's is RegisterModelInput, workflows/pipeline-types.ts). */
export type RegisterInput = z.infer<typeof registerInputSchema>;
export type SetAliasOptions = z.infer<typeof setAliasOptionsSchema>;
export type AuditPageOptions = z.input<typeof auditPageOptionsSchema>;

export interface ModelRegistry {
  register(input: RegisterInput): Promise<{ version: ModelVersion; created: boolean }>;
  /** undefined when the model or the version does not exist. */
  getVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  /** Ascending by version; NOT_FOUND for an unknown model. */
  listVersions(name: string): Promise<ModelVersion[]>;
  listModels(): Promise<Array<{ name: string; latestVersion: number; aliases: Record<string, number> }>>;
  /** NOT_FOUND for an unknown model. */
  getAliases(name: string): Promise<Record<string, number>>;
  /** undefined when the alias is not set. */
  resolveAlias(name: string, alias: string): Promise<ModelVersion | undefined>;
  /**
   * Points the alias at `version`; DECISION_REFUSED when the trust policy protects the alias and
   * the signed approvals of this version do not meet it. moved=false when nothing changed: it already pointed there,
   * `expectedCurrent` did not match (previous then says who holds it), or the idempotency key was
   * seen before (previous then is what the first call reported).
   */
  setAlias(
    name: string,
    alias: string,
    version: number,
    opts: SetAliasOptions,
  ): Promise<{ moved: boolean; previous: number | null }>;
  /**
   * Points the alias back at the version that held it before the latest move still in effect
   * (moves undone by earlier rollbacks do not count: set 1, 2, 3, rollback, rollback → 1). A
   * protected alias goes back only to a version whose signed approvals meet its policy now, as a
   * promotion there would (DECISION_REFUSED naming what is missing): having held the alias once
   * (perhaps before the policy, or approved by a key since revoked) is not an approval.
   */
  rollbackAlias(name: string, alias: string, opts: { actor: string; reason?: string; idempotencyKey?: string }): Promise<{ from: number; to: number }>;
  /** Chronological; NOT_FOUND for an unknown model without entries. */
  audit(name: string): Promise<AuditEntry[]>;
  /**
   * Newest first, reading only the entries returned: `total` counts the whole log from one listing.
   * With `actions`, only entries recording one of them (`total` counts those; entries whose key does
   * not name its action are read to find out). NOT_FOUND for an unknown model without entries.
   */
  auditPage(name: string, opts?: AuditPageOptions): Promise<{ total: number; entries: AuditEntry[] }>;
  /**
   * With `idempotencyKey` (e.g. the activity's workflow run + activity id) a retried append writes
   * the same object again, which the store refuses, instead of a second entry.
   */
  appendAudit(entry: AuditEntry, opts?: { idempotencyKey?: string }): Promise<void>;
}

export { ALIAS_NAME, AUDIT_PAGE_MAX, MODEL_NAME };
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SEQ_FILE = /^(\d+)\.json$/;
/** Keyed non-moves remembered per alias for idempotency; older ones are forgotten. */
const MAX_NOOPS = 200;
/** Each round loses only to another writer's success, so this bounds pathological contention only. */
const MAX_ROUNDS = 1000;
const READ_CONCURRENCY = 8;
const JSON_TYPE = 'application/json';

// ---------------------------------------------------------------------------------------------
// Schemas: inputs are validated before anything is written; records are validated when read back.

const nonEmpty = z.string().min(1, 'must not be empty');
const positiveInt = z.number().int().positive();
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 timestamp');

const lineageSchema = z.object({
  datasetSha256: z.string().regex(SHA256_HEX, 'expected a sha256: 64 lowercase hex digits'),
  datasetUri: nonEmpty,
  manifestUri: nonEmpty,
  codeVersion: nonEmpty,
  trainer: nonEmpty,
  params: z.record(z.string(), z.unknown()),
  /** binary | multiclass | regression (built-in trainers). */
  task: z.enum(['binary', 'multiclass', 'regression']).optional(),
  workflowId: nonEmpty,
  runId: nonEmpty,
  parentVersion: positiveInt.optional(),
  studyId: nonEmpty.optional(),
  trialId: nonEmpty.optional(),
  /** Rows (and classes) per split: train fitted, validation tuned/curves, test evaluated. */
  split: z
    .object({
      train: z.number().int().nonnegative(),
      validation: z.number().int().nonnegative(),
      test: z.number().int().nonnegative(),
      droppedMissingTarget: z.number().int().nonnegative(),
      classes: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())).optional(),
    })
    .optional(),
});

const modelName = z
  .string()
  .regex(MODEL_NAME, 'expected 1-63 characters of a-z 0-9 - _, starting with a letter or digit');
const aliasName = z.string().regex(ALIAS_NAME, 'expected 1-32 characters of a-z 0-9 - _, starting with a letter');
// z.number() rejects NaN and ±Infinity, which JSON could not carry anyway.
const metricsSchema = z.record(z.string(), z.number());
const reportsSchema = z.record(z.string(), z.string());

const registerInputSchema = z.object({
  name: modelName,
  modelUri: nonEmpty,
  metrics: metricsSchema,
  lineage: lineageSchema,
  reports: reportsSchema,
  /** Who registers; recorded in the audit trail. Defaults to "system". */
  actor: nonEmpty.optional(),
  /** Same key, same version: e.g. `<workflowId>/<runId>` of the registering workflow. */
  idempotencyKey: nonEmpty.max(1024, 'must be at most 1024 characters'),
});

const modelVersionSchema = z.object({
  name: modelName,
  version: positiveInt,
  modelUri: nonEmpty,
  metrics: metricsSchema,
  lineage: lineageSchema,
  reports: reportsSchema,
  createdAt: isoTime,
  status: z.literal('registered'),
});
const versionRecordSchema = modelVersionSchema.extend({
  // Registry-internal: not part of ModelVersion.
  idempotencyKey: nonEmpty,
  registeredBy: nonEmpty,
});
type VersionRecord = z.infer<typeof versionRecordSchema>;

const claimSchema = z.object({ idempotencyKey: nonEmpty, slot: positiveInt, at: isoTime });
type Claim = z.infer<typeof claimSchema>;

const historyEntrySchema = z.object({
  seq: positiveInt,
  action: z.enum(['set', 'rollback']),
  from: positiveInt.nullable(),
  to: positiveInt,
  at: isoTime,
  actor: nonEmpty,
  reason: z.string().optional(),
  idempotencyKey: nonEmpty.optional(),
});
type HistoryEntry = z.infer<typeof historyEntrySchema>;

const aliasRecordSchema = z.object({
  model: modelName,
  alias: aliasName,
  /** null: the alias is not set; the record only remembers keyed decisions not to move it. */
  version: positiveInt.nullable(),
  history: z.array(historyEntrySchema),
  noops: z.array(z.object({ idempotencyKey: nonEmpty, previous: positiveInt.nullable(), at: isoTime })),
});
type AliasRecord = z.infer<typeof aliasRecordSchema>;

const setAliasOptionsSchema = z.object({
  actor: nonEmpty,
  reason: z.string().optional(),
  /** A second call with the same key changes nothing and answers moved=false. */
  idempotencyKey: nonEmpty.max(1024, 'must be at most 1024 characters').optional(),
  /** Move only if the alias is held by this version now (null: only if the alias is unset). */
  expectedCurrent: positiveInt.nullable().optional(),
});

const rollbackOptionsSchema = z.object({
  actor: nonEmpty,
  reason: z.string().optional(),
  /** A second call with the same key rolls back nothing more and answers what the first did. */
  idempotencyKey: nonEmpty.max(1024, 'must be at most 1024 characters').optional(),
});

const auditPageOptionsSchema = z.object({
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().max(AUDIT_PAGE_MAX).default(50),
  actions: z.array(nonEmpty).optional(),
});

/** Versions per pack (see "Version packs" above). */
const PACK_SIZE = 25;
const versionPackSchema = z.object({ model: modelName, first: positiveInt, records: z.array(versionRecordSchema) });

const auditEntrySchema = z.object({
  at: isoTime,
  actor: nonEmpty,
  action: nonEmpty,
  model: modelName,
  version: positiveInt.optional(),
  alias: aliasName.optional(),
  from: positiveInt.nullable().optional(),
  to: positiveInt.nullable().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MlcycleError('USAGE', `${what}:\n${formatIssues(result.error)}`);
  return result.data;
}

const checkName = (name: unknown): string => parseInput(modelName, name, `invalid model name ${JSON.stringify(name)}`);
const checkAlias = (alias: unknown): string => parseInput(aliasName, alias, `invalid alias name ${JSON.stringify(alias)}`);
const checkVersion = (version: unknown): number =>
  parseInput(positiveInt, version, `invalid version ${JSON.stringify(version)}: expected a positive integer`);

/** A BigInt or a cycle in caller data is the caller's error, found before anything is written. */
function toJson(value: unknown, what: string): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new MlcycleError('USAGE', `${what} cannot be stored as JSON: ${(err as Error).message}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------

const pad = (n: number): string => String(n).padStart(6, '0');
const keyHash = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');
const INDEX_PREFIX = 'registry/_models/';
const indexKey = (name: string): string => `${INDEX_PREFIX}${name}.json`;
const versionsPrefix = (name: string): string => `registry/${name}/versions/`;
const versionKey = (name: string, version: number): string => `${versionsPrefix(name)}${pad(version)}.json`;
const requestPrefix = (name: string, key: string): string => `registry/${name}/requests/${keyHash(key)}/`;
const aliasesPrefix = (name: string): string => `registry/${name}/aliases/`;
const aliasPrefix = (name: string, alias: string): string => `${aliasesPrefix(name)}${alias}/`;
const auditPrefix = (name: string): string => `registry/${name}/audit/`;
const packsPrefix = (name: string): string => `registry/${name}/version-packs/`;
const packKey = (name: string, first: number): string => `${packsPrefix(name)}${pad(first)}-${pad(first + PACK_SIZE - 1)}.json`;

/** An action name safe to carry in an object key; others are not tagged (and read to be known). */
const TAGGABLE_ACTION = /^[A-Za-z0-9._-]{1,64}$/;
const TAGGED_AUDIT = /^\d{8}T\d{9}Z-[0-9a-f]{16}--([A-Za-z0-9._-]{1,64})\.json$/;
const REGISTERED_AUDIT = /^\d{8}T\d{9}Z-v\d{6}-registered\.json$/;
const MOVE_AUDIT = /^\d{8}T\d{9}Z-alias-[a-z][a-z0-9-_]{0,31}-\d{6}\.json$/;

/** The actions an audit object's key says it may record; undefined when the key does not say. */
function auditKeyActions(file: string): readonly string[] | undefined {
  const tagged = TAGGED_AUDIT.exec(file)?.[1];
  if (tagged !== undefined) return [tagged];
  if (REGISTERED_AUDIT.test(file)) return ['model.registered'];
  if (MOVE_AUDIT.test(file)) return ['alias.set', 'alias.rollback'];
  return undefined;
}
const seqKey = (prefix: string, seq: number): string => `${prefix}${pad(seq)}.json`;

/** 2025-01-02T03:04:05.678Z → 20250102T030405678Z: fixed width, so it sorts as it reads. */
function sortableTime(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:.]/g, '');
}

/** The numbers of the `<n>.json` objects directly under `prefix`, given keys under it. */
function seqNumbers(keys: readonly string[], prefix: string): number[] {
  const out: number[] = [];
  for (const key of keys) {
    const n = SEQ_FILE.exec(key.slice(prefix.length))?.[1];
    if (key.startsWith(prefix) && n !== undefined) out.push(Number(n));
  }
  return out.sort((a, b) => a - b);
}

/** Model names from the index keys `registry/_models/<name>.json`. */
function indexedNames(keys: readonly string[]): string[] {
  return keys
    .filter((k) => k.startsWith(INDEX_PREFIX) && k.endsWith('.json'))
    .map((k) => k.slice(INDEX_PREFIX.length, -'.json'.length))
    .filter((n) => MODEL_NAME.test(n))
    .sort();
}

function toModelVersion(record: VersionRecord): ModelVersion {
  const { idempotencyKey: _key, registeredBy: _by, ...version } = record;
  return version;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The versions an alias has held, rolled-back moves undone: the top is the current holder. */
function holderStack(history: readonly HistoryEntry[]): number[] {
  const stack: number[] = [];
  for (const entry of history) {
    if (entry.action === 'set') stack.push(entry.to);
    else stack.pop();
  }
  return stack;
}

const modelNotFound = (name: string): MlcycleError =>
  new MlcycleError('NOT_FOUND', `model "${name}" not found in the registry`);

export function createModelRegistry(deps: { store: NamedStore; now?: () => Date }): ModelRegistry {
  const { store } = deps;
  const now = (): string => (deps.now ? deps.now() : new Date()).toISOString();
  const trust = createTrustRecords(deps.now ? { store, now: deps.now } : { store });

  async function readJson<T>(schema: z.ZodType<T>, key: string): Promise<T | undefined> {
    const bytes = await store.getNamed(key);
    if (bytes === undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new MlcycleError(
        'DATA_INVALID',
        `registry object ${store.uriForKey(key)} is not valid JSON: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const result = schema.safeParse(raw);
    if (!result.success) {
      throw new MlcycleError(
        'DATA_INVALID',
        `registry object ${store.uriForKey(key)} is malformed:\n${formatIssues(result.error)}`,
      );
    }
    return result.data;
  }

  /** Conditional create; false when an object already exists under the key. */
  async function create(key: string, value: unknown): Promise<boolean> {
    return (await store.putNamed(key, JSON.stringify(value), { ifNoneMatch: true, contentType: JSON_TYPE })).created;
  }

  /** The highest state of a sequence: seq 0 and no value when it has none yet. */
  async function readLatest<T>(prefix: string, schema: z.ZodType<T>): Promise<{ seq: number; value: T | undefined }> {
    const seqs = seqNumbers(await store.listNamed(prefix), prefix);
    const seq = seqs[seqs.length - 1];
    if (seq === undefined) return { seq: 0, value: undefined };
    const value = await readJson(schema, seqKey(prefix, seq));
    if (value === undefined) {
      // States are never deleted by the registry; someone removed one behind its back.
      throw new MlcycleError('DATA_INVALID', `registry object ${store.uriForKey(seqKey(prefix, seq))} vanished after being listed`);
    }
    return { seq, value };
  }

  const readVersion = (name: string, version: number): Promise<VersionRecord | undefined> =>
    readJson(versionRecordSchema, versionKey(name, version));

  async function versionNumbers(name: string): Promise<number[]> {
    return seqNumbers(await store.listNamed(versionsPrefix(name)), versionsPrefix(name));
  }

  async function latestVersion(name: string): Promise<number> {
    const numbers = await versionNumbers(name);
    return numbers[numbers.length - 1] ?? 0;
  }

  /** Numbers have no gaps, so a model exists exactly when its version 1 does. */
  async function modelExists(name: string): Promise<boolean> {
    return (await store.getNamed(versionKey(name, 1))) !== undefined;
  }

  async function requireVersion(name: string, version: number): Promise<VersionRecord> {
    const record = await readVersion(name, version);
    if (record) return record;
    if (!(await modelExists(name))) throw modelNotFound(name);
    throw new MlcycleError('NOT_FOUND', `model "${name}" has no version ${version}`);
  }

  /** Conditional create under a deterministic key: an existing entry is this one, written before. */
  async function ensureAudit(suffix: string, entry: AuditEntry): Promise<void> {
    await create(`${auditPrefix(entry.model)}${sortableTime(entry.at)}-${suffix}.json`, entry);
  }

  const ensureRegisteredAudit = (record: VersionRecord): Promise<void> =>
    ensureAudit(`v${pad(record.version)}-registered`, {
      at: record.createdAt,
      actor: record.registeredBy,
      action: 'model.registered',
      model: record.name,
      version: record.version,
      detail: {
        modelUri: record.modelUri,
        idempotencyKey: record.idempotencyKey,
        workflowId: record.lineage.workflowId,
        runId: record.lineage.runId,
      },
    });

  async function ensureMoveAudit(record: AliasRecord, entry: HistoryEntry | undefined): Promise<void> {
    if (!entry) return;
    const detail: Record<string, unknown> = {};
    if (entry.reason !== undefined) detail['reason'] = entry.reason;
    if (entry.idempotencyKey !== undefined) detail['idempotencyKey'] = entry.idempotencyKey;
    await ensureAudit(`alias-${record.alias}-${pad(entry.seq)}`, {
      at: entry.at,
      actor: entry.actor,
      action: entry.action === 'set' ? 'alias.set' : 'alias.rollback',
      model: record.model,
      alias: record.alias,
      from: entry.from,
      to: entry.to,
      ...(Object.keys(detail).length > 0 ? { detail } : {}),
    });
  }

  async function aliasesOf(name: string): Promise<Record<string, number>> {
    const prefix = aliasesPrefix(name);
    const latest = new Map<string, number>();
    for (const key of await store.listNamed(prefix)) {
      const [alias, file, ...rest] = key.slice(prefix.length).split('/');
      const seq = file === undefined ? undefined : SEQ_FILE.exec(file)?.[1];
      if (!alias || !ALIAS_NAME.test(alias) || seq === undefined || rest.length > 0) continue;
      latest.set(alias, Math.max(latest.get(alias) ?? 0, Number(seq)));
    }
    const entries = await mapLimit([...latest], READ_CONCURRENCY, async ([alias, seq]) => {
      const record = await readJson(aliasRecordSchema, seqKey(aliasPrefix(name, alias), seq));
      return [alias, record?.version ?? null] as const;
    });
    const aliases: Record<string, number> = {};
    for (const [alias, version] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (version !== null) aliases[alias] = version;
    }
    return aliases;
  }

  /** Versions first … first+PACK_SIZE-1 from their pack, or undefined when it does not exist yet. */
  async function readPack(name: string, first: number): Promise<VersionRecord[] | undefined> {
    const key = packKey(name, first);
    const pack = await readJson(versionPackSchema, key);
    if (pack === undefined) return undefined;
    const ok =
      pack.model === name &&
      pack.first === first &&
      pack.records.length === PACK_SIZE &&
      pack.records.every((r, i) => r.name === name && r.version === first + i);
    if (!ok) throw new MlcycleError('DATA_INVALID', `registry object ${store.uriForKey(key)} does not hold versions ${first}-${first + PACK_SIZE - 1} of model "${name}"`);
    return pack.records;
  }

  /**
   * Creates the pack of versions first … first+PACK_SIZE-1 from their records (all exist). The pack
   * is a read cache: failing to write it (a read-only console's credentials, an outage) costs only
   * speed, since listVersions then reads the records and tries again, so it never fails the caller.
   */
  async function writePack(name: string, records: readonly VersionRecord[]): Promise<void> {
    const first = records[0]?.version;
    if (first === undefined || records.length !== PACK_SIZE) return;
    await create(packKey(name, first), { model: name, first, records }).catch(() => false);
  }

  async function readBlock(name: string, first: number): Promise<VersionRecord[]> {
    const records = await mapLimit(
      Array.from({ length: PACK_SIZE }, (_, i) => first + i),
      READ_CONCURRENCY,
      (n) => readVersion(name, n),
    );
    return records.filter((r): r is VersionRecord => r !== undefined);
  }

  const tooBusy = (what: string): MlcycleError =>
    new MlcycleError('SERVICE_UNREACHABLE', `${what}: gave up after ${MAX_ROUNDS} rounds of conflicting concurrent writes`);

  const registry: ModelRegistry = {
    async register(input) {
      const parsed = parseInput(registerInputSchema, input, 'invalid model registration');
      toJson(parsed.lineage.params, 'lineage.params');
      const { name, idempotencyKey } = parsed;
      const actor = parsed.actor ?? 'system';
      const claims = requestPrefix(name, idempotencyKey);

      // Idempotent: lists the model once it has a version (listModels skips it until then).
      await create(indexKey(name), { name });
      let claim = await readLatest(claims, claimSchema);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (claim.value === undefined) {
          const first: Claim = { idempotencyKey, slot: (await latestVersion(name)) + 1, at: now() };
          // Losing this create means a duplicate of this request claimed first: follow its claim.
          claim = (await create(seqKey(claims, 1), first)) ? { seq: 1, value: first } : await readLatest(claims, claimSchema);
          continue;
        }
        if (claim.value.idempotencyKey !== idempotencyKey) {
          throw new MlcycleError(
            'DATA_INVALID',
            `registry request ${store.uriForKey(seqKey(claims, claim.seq))} belongs to another idempotency key`,
          );
        }
        // Only ever the slot the current claim names (see the comment at the top of this file).
        const slot = claim.value.slot;
        const record: VersionRecord = {
          name,
          version: slot,
          modelUri: parsed.modelUri,
          metrics: parsed.metrics,
          lineage: parsed.lineage,
          reports: parsed.reports,
          createdAt: now(),
          status: 'registered',
          idempotencyKey,
          registeredBy: actor,
        };
        const body = JSON.stringify(record);
        const created = (await store.putNamed(versionKey(name, slot), body, { ifNoneMatch: true, contentType: JSON_TYPE }))
          .created;
        // What a later read returns, so a first answer and a retried one are the same object.
        const holder = created ? versionRecordSchema.parse(JSON.parse(body)) : await readVersion(name, slot);
        if (holder === undefined) {
          throw new MlcycleError('DATA_INVALID', `${store.uriForKey(versionKey(name, slot))} exists but could not be read`);
        }
        if (holder.idempotencyKey === idempotencyKey) {
          await ensureRegisteredAudit(holder);
          // Completing a block packs it (every lower slot is taken: numbers have no gaps).
          if (slot % PACK_SIZE === 0) await writePack(name, await readBlock(name, slot - PACK_SIZE + 1)).catch(() => undefined);
          return { version: toModelVersion(holder), created };
        }
        // Another request has the slot: claim the next free one. Losing this create means a
        // duplicate of this request claimed first; follow its claim instead.
        const next: Claim = { idempotencyKey, slot: Math.max(slot + 1, (await latestVersion(name)) + 1), at: now() };
        claim = (await create(seqKey(claims, claim.seq + 1), next))
          ? { seq: claim.seq + 1, value: next }
          : await readLatest(claims, claimSchema);
      }
      throw tooBusy(`registering a version of model "${name}"`);
    },

    async getVersion(name, version) {
      checkName(name);
      checkVersion(version);
      const record = await readVersion(name, version);
      return record && toModelVersion(record);
    },

    async listVersions(name) {
      checkName(name);
      const [numbers, packKeys] = await Promise.all([versionNumbers(name), store.listNamed(packsPrefix(name))]);
      if (numbers.length === 0) throw modelNotFound(name);
      const listed = new Set(numbers);
      const packed = new Set(packKeys);
      // Whole blocks (all PACK_SIZE versions listed) come from their pack; the rest one by one.
      type Unit = { block: number } | { single: number };
      const units: Unit[] = [];
      const last = numbers[numbers.length - 1] as number;
      let first = 1;
      for (; first + PACK_SIZE - 1 <= last; first += PACK_SIZE) {
        let whole = true;
        for (let n = first; n < first + PACK_SIZE && whole; n++) whole = listed.has(n);
        if (whole) units.push({ block: first });
        else for (let n = first; n < first + PACK_SIZE; n++) if (listed.has(n)) units.push({ single: n });
      }
      for (const n of numbers) if (n >= first) units.push({ single: n });
      const read = await mapLimit(units, READ_CONCURRENCY, async (unit): Promise<Array<VersionRecord | undefined>> => {
        if ('single' in unit) return [await readVersion(name, unit.single)];
        const fromPack = packed.has(packKey(name, unit.block)) ? await readPack(name, unit.block) : undefined;
        if (fromPack) return fromPack;
        const records = await readBlock(name, unit.block);
        await writePack(name, records);
        return records;
      });
      return read.flat().filter((r): r is VersionRecord => r !== undefined).map(toModelVersion);
    },

    async listModels() {
      const names = indexedNames(await store.listNamed(INDEX_PREFIX));
      const models = await mapLimit(names, READ_CONCURRENCY, async (name) => {
        const latest = await latestVersion(name);
        return latest === 0 ? undefined : { name, latestVersion: latest, aliases: await aliasesOf(name) };
      });
      return models.filter((m): m is NonNullable<typeof m> => m !== undefined);
    },

    async getAliases(name) {
      checkName(name);
      if (!(await modelExists(name))) throw modelNotFound(name);
      return aliasesOf(name);
    },

    async resolveAlias(name, alias) {
      checkName(name);
      checkAlias(alias);
      const record = (await readLatest(aliasPrefix(name, alias), aliasRecordSchema)).value;
      if (!record || record.version === null) return undefined;
      const version = await readVersion(name, record.version);
      if (!version) {
        throw new MlcycleError(
          'DATA_INVALID',
          `alias "${alias}" of model "${name}" points at version ${record.version}, which does not exist`,
        );
      }
      return toModelVersion(version);
    },

    async setAlias(name, alias, version, opts) {
      checkName(name);
      checkAlias(alias);
      checkVersion(version);
      const options = parseInput(setAliasOptionsSchema, opts, `invalid options for moving alias "${alias}"`);
      await requireVersion(name, version);
      const prefix = aliasPrefix(name, alias);
      const { idempotencyKey, expectedCurrent } = options;
      let policyMet = false;

      for (let round = 0; round < MAX_ROUNDS; round++) {
        const state = await readLatest(prefix, aliasRecordSchema);
        const record: AliasRecord = state.value ?? { model: name, alias, version: null, history: [], noops: [] };
        if (idempotencyKey !== undefined) {
          const moved = record.history.find((h) => h.idempotencyKey === idempotencyKey);
          if (moved) {
            await ensureMoveAudit(record, moved);
            return { moved: false, previous: moved.from };
          }
          const unmoved = record.noops.find((n) => n.idempotencyKey === idempotencyKey);
          if (unmoved) return { moved: false, previous: unmoved.previous };
        }
        // Heals a crash between the latest move and its audit entry.
        await ensureMoveAudit(record, record.history[record.history.length - 1]);

        const current = record.version;
        const nextKey = seqKey(prefix, state.seq + 1);
        if ((expectedCurrent !== undefined && current !== expectedCurrent) || current === version) {
          if (idempotencyKey === undefined) return { moved: false, previous: current };
          const noops = [...record.noops, { idempotencyKey, previous: current, at: now() }].slice(-MAX_NOOPS);
          if (await create(nextKey, { ...record, noops })) return { moved: false, previous: current };
          continue;
        }
        // The approval policy is enforced here, the one operation every move goes through (the CLI,
        // the client API, the console, the deployment activities): a protected alias moves only
        // with the policy's signed approvals of this version (DECISION_REFUSED otherwise).
        if (!policyMet) {
          await assertPromotionAllowed(registry, trust, { model: name, version, alias });
          policyMet = true;
        }
        const entry: HistoryEntry = {
          seq: record.history.length + 1,
          action: 'set',
          from: current,
          to: version,
          at: now(),
          actor: options.actor,
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        };
        const next: AliasRecord = { ...record, version, history: [...record.history, entry] };
        if (await create(nextKey, next)) {
          await ensureMoveAudit(next, entry);
          return { moved: true, previous: current };
        }
      }
      throw tooBusy(`moving alias "${alias}" of model "${name}"`);
    },

    async rollbackAlias(name, alias, opts) {
      checkName(name);
      checkAlias(alias);
      const options = parseInput(rollbackOptionsSchema, opts, `invalid options for rolling back alias "${alias}"`);
      const prefix = aliasPrefix(name, alias);
      let checked: number | undefined;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const state = await readLatest(prefix, aliasRecordSchema);
        const record = state.value;
        if (!record || record.version === null) {
          if (!(await modelExists(name))) throw modelNotFound(name);
          throw new MlcycleError('NOT_FOUND', `alias "${alias}" of model "${name}" not found`);
        }
        const done = options.idempotencyKey === undefined ? undefined : record.history.find((h) => h.action === 'rollback' && h.idempotencyKey === options.idempotencyKey);
        if (done && done.from !== null) {
          await ensureMoveAudit(record, done);
          return { from: done.from, to: done.to };
        }
        const from = record.version;
        await ensureMoveAudit(record, record.history[record.history.length - 1]);
        const stack = holderStack(record.history);
        const to = stack[stack.length - 2];
        if (to === undefined) {
          throw new MlcycleError(
            'NOT_FOUND',
            `alias "${alias}" of model "${name}" has no earlier version to roll back to (it holds version ${from})`,
          );
        }
        // Enforced here, like setAlias's check, so every rollback (worker, --direct, API) passes it;
        // checked again only when a concurrent move changed the target.
        if (checked !== to) {
          await assertPromotionAllowed(registry, trust, { model: name, version: to, alias, move: `rollback of ${name} "${alias}" from v${from} to v${to}` });
          checked = to;
        }
        const entry: HistoryEntry = {
          seq: record.history.length + 1,
          action: 'rollback',
          from,
          to,
          at: now(),
          actor: options.actor,
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
        };
        const next: AliasRecord = { ...record, version: to, history: [...record.history, entry] };
        if (await create(seqKey(prefix, state.seq + 1), next)) {
          await ensureMoveAudit(next, entry);
          return { from, to };
        }
      }
      throw tooBusy(`rolling back alias "${alias}" of model "${name}"`);
    },

    async audit(name) {
      checkName(name);
      const prefix = auditPrefix(name);
      const keys = (await store.listNamed(prefix)).filter((k) => k.endsWith('.json')).sort();
      if (keys.length === 0) {
        if (!(await modelExists(name))) throw modelNotFound(name);
        return [];
      }
      const entries = await mapLimit(keys, READ_CONCURRENCY, (k) => readJson(auditEntrySchema, k));
      return entries.filter((e): e is NonNullable<typeof e> => e !== undefined);
    },

    async auditPage(name, opts = {}) {
      checkName(name);
      const { offset, limit, actions } = parseInput(auditPageOptionsSchema, opts, 'invalid audit page options');
      const prefix = auditPrefix(name);
      const newestFirst = (await store.listNamed(prefix)).filter((k) => k.endsWith('.json')).sort().reverse();
      if (newestFirst.length === 0 && !(await modelExists(name))) throw modelNotFound(name);
      const read = (keys: readonly string[]) =>
        mapLimit(keys, READ_CONCURRENCY, (k) => readJson(auditEntrySchema, k)).then((es) =>
          es.filter((e): e is AuditEntry => e !== undefined),
        );
      if (actions === undefined) {
        return { total: newestFirst.length, entries: await read(newestFirst.slice(offset, offset + limit)) };
      }
      const wanted = new Set(actions);
      const said = newestFirst.map((k) => auditKeyActions(k.slice(prefix.length)));
      const candidates = newestFirst.filter((_, i) => said[i] === undefined || said[i]?.some((a) => wanted.has(a)));
      // When every candidate's key names only wanted actions, the listing alone counts them.
      const sure = said.every((a) => a !== undefined && (a.every((x) => wanted.has(x)) || !a.some((x) => wanted.has(x))));
      if (sure) return { total: candidates.length, entries: await read(candidates.slice(offset, offset + limit)) };
      const matching = (await read(candidates)).filter((e) => wanted.has(e.action));
      return { total: matching.length, entries: matching.slice(offset, offset + limit) };
    },

    async appendAudit(entry, opts = {}) {
      const parsed = parseInput(auditEntrySchema, entry, 'invalid audit entry');
      const normalized: AuditEntry = { ...parsed, at: new Date(parsed.at).toISOString() };
      toJson(normalized, 'audit entry');
      // The action in the key lets a reader pick entries by action without reading them.
      const tag = TAGGABLE_ACTION.test(normalized.action) ? `--${normalized.action}` : '';
      if (opts.idempotencyKey) {
        const suffix = createHash('sha256').update(opts.idempotencyKey).digest('hex').slice(0, 16);
        // false means an earlier attempt already wrote this entry: nothing more to do.
        await create(`${auditPrefix(parsed.model)}${sortableTime(normalized.at)}-${suffix}${tag}.json`, normalized);
        return;
      }
      // The random suffix keeps concurrent entries of the same millisecond apart; a collision
      // (never, in practice) just draws again rather than overwriting.
      for (;;) {
        const key = `${auditPrefix(parsed.model)}${sortableTime(normalized.at)}-${randomBytes(8).toString('hex')}${tag}.json`;
        if (await create(key, normalized)) return;
      }
    },
  };

  return registry;
}
