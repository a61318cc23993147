/**
 * The registry's administrative records: the approver directory (who may sign decisions, with
 * which public key) and approval policies (which aliases are protected and by how many signed
 * approvals). Writing them is an administrative act that needs the storage credentials; workers
 * and the gate only read them.
 *
 *   registry/_approvers/000001.json          successive states of the directory
 *   registry/_policies/<model>/000001.json   successive states of a model's policy (`_default`: all models)
 *   registry/_admin/audit/<time>-<rand>.json one immutable entry per administrative change
 *
 * Same discipline as aliases (see model-registry.ts): every state is a conditional create of the
 * next number, losing the race re-reads and decides again, and nothing is overwritten, so the old
 * states are the history. The `_` prefix cannot collide with a model name.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { NamedStore } from '../storage/artifact-store';
import { readLatestState, updateState } from '../storage/numbered-states';
import { ApproverNameSchema, PublicKeySchema } from '../approval/signed-vote';
import { ALIAS_NAME, MODEL_NAME } from './registry-names';

const JSON_TYPE = 'application/json';
const APPROVERS_PREFIX = 'registry/_approvers/';
const POLICIES_PREFIX = 'registry/_policies/';
const ADMIN_AUDIT_PREFIX = 'registry/_admin/audit/';
export const DEFAULT_POLICY = '_default';

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 timestamp');

const keyRecordSchema = z.object({
  publicKey: PublicKeySchema,
  addedAt: isoTime,
  addedBy: z.string().min(1),
  revokedAt: isoTime.optional(),
  revokedBy: z.string().min(1).optional(),
});
export type ApproverKeyRecord = z.infer<typeof keyRecordSchema>;

const directorySchema = z.object({
  approvers: z.record(ApproverNameSchema, z.object({ keys: z.array(keyRecordSchema) })),
});
export type ApproverDirectory = z.infer<typeof directorySchema>;

const durationText = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30m, 12h or 7d');

export const PolicySchema = z
  .object({
    protect: z.array(z.string().regex(ALIAS_NAME, 'expected an alias name')).min(1, 'name at least one alias to protect'),
    approvers: z.array(ApproverNameSchema).min(1, 'name at least one approver'),
    required: z.number().int().positive(),
    timeout: durationText.optional(),
  })
  .strict()
  .refine((p) => p.required <= new Set(p.approvers).size, { message: 'cannot exceed the number of approvers', path: ['required'] });
export type ApprovalPolicy = z.infer<typeof PolicySchema>;

const policyRecordSchema = z.object({ policy: PolicySchema, setAt: isoTime, setBy: z.string().min(1) });
export type PolicyRecord = z.infer<typeof policyRecordSchema> & { scope: string };

export interface AdminAuditEntry {
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}
const adminAuditSchema = z.object({ at: isoTime, actor: z.string().min(1), action: z.string().min(1), detail: z.record(z.string(), z.unknown()) });

/** The key an approver had at `at`: added before it and not revoked by then. */
export function keyAt(directory: ApproverDirectory, name: string, at: string): ApproverKeyRecord | undefined {
  const t = Date.parse(at);
  return directory.approvers[name]?.keys.find((k) => Date.parse(k.addedAt) <= t && (k.revokedAt === undefined || Date.parse(k.revokedAt) > t));
}

/** Active keys by approver name: what the gate verifies against. */
export function activeKeys(directory: ApproverDirectory): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { keys }] of Object.entries(directory.approvers)) {
    const active = keys.filter((k) => k.revokedAt === undefined).at(-1);
    if (active) out[name] = active.publicKey;
  }
  return out;
}

export interface TrustRecords {
  directory(): Promise<ApproverDirectory>;
  /** Registers `publicKey` for `name`; an earlier active key of the same name is revoked in the same state. */
  addApprover(name: string, publicKey: string, actor: string): Promise<void>;
  revokeApprover(name: string, actor: string): Promise<void>;
  /** The policy for a model: its own, else the default; undefined when neither exists. */
  policyFor(model: string): Promise<PolicyRecord | undefined>;
  /** Every policy set (the default under `_default`). */
  policies(): Promise<PolicyRecord[]>;
  setPolicy(scope: string, policy: ApprovalPolicy, actor: string): Promise<void>;
  adminAudit(): Promise<AdminAuditEntry[]>;
}

function parseOr<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new MlcycleError('USAGE', `${what}:\n${formatIssues(r.error)}`);
  return r.data;
}

/** Checks a policy as `setPolicy` will (USAGE naming the field), so a command can refuse it before connecting. */
export const checkPolicy = (policy: unknown): ApprovalPolicy => parseOr(PolicySchema, policy, 'invalid policy');

/** Checks an `ed25519:<base64>` public key as `addApprover` will. */
export const checkPublicKey = (publicKey: unknown): string => parseOr(PublicKeySchema, publicKey, 'public key');

export function createTrustRecords(deps: { store: NamedStore; now?: () => Date }): TrustRecords {
  const { store } = deps;
  const now = () => (deps.now ? deps.now() : new Date()).toISOString();

  /** Parses a stored registry object by its schema, naming the object when it does not fit. */
  const parseWith =
    <T>(schema: z.ZodType<T>) =>
    (raw: unknown, where: string): T => {
      const r = schema.safeParse(raw);
      if (!r.success) throw new MlcycleError('DATA_INVALID', `registry object ${where} is malformed:\n${formatIssues(r.error)}`);
      return r.data;
    };
  const parseDirectory = parseWith(directorySchema);
  const parsePolicy = parseWith(policyRecordSchema);
  const latestPolicy = async (scope: string) => (await readLatestState(store, `${POLICIES_PREFIX}${scope}/`, parsePolicy)).value;

  async function readJson<T>(schema: z.ZodType<T>, key: string): Promise<T | undefined> {
    const bytes = await store.getNamed(key);
    if (bytes === undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new MlcycleError('DATA_INVALID', `registry object ${store.uriForKey(key)} is not valid JSON: ${(err as Error).message}`);
    }
    return parseWith(schema)(raw, store.uriForKey(key));
  }

  const create = async (key: string, value: unknown) =>
    (await store.putNamed(key, JSON.stringify(value), { ifNoneMatch: true, contentType: JSON_TYPE })).created;

  async function audit(entry: AdminAuditEntry): Promise<void> {
    const time = new Date(entry.at).toISOString().replace(/[-:.]/g, '');
    for (;;) if (await create(`${ADMIN_AUDIT_PREFIX}${time}-${randomBytes(8).toString('hex')}.json`, entry)) return;
  }

  /** Compare-and-swap on the directory: `change` sees the current state and returns the next. */
  async function updateDirectory(change: (d: ApproverDirectory, at: string) => ApproverDirectory): Promise<string> {
    const { result } = await updateState(store, APPROVERS_PREFIX, parseDirectory, async (state) => {
      const at = now();
      return { next: change(state.value ?? { approvers: {} }, at), result: at };
    });
    return result;
  }

  const scopeOk = (scope: string) => scope === DEFAULT_POLICY || MODEL_NAME.test(scope);

  return {
    async directory() {
      return (await readLatestState(store, APPROVERS_PREFIX, parseDirectory)).value ?? { approvers: {} };
    },

    async addApprover(name, publicKey, actor) {
      parseOr(ApproverNameSchema, name, `approver name ${JSON.stringify(name)}`);
      checkPublicKey(publicKey);
      let replaced: string | undefined;
      const at = await updateDirectory((d, at) => {
        const keys = (d.approvers[name]?.keys ?? []).map((k) => {
          if (k.revokedAt !== undefined) return k;
          replaced = k.publicKey;
          return { ...k, revokedAt: at, revokedBy: actor };
        });
        return { approvers: { ...d.approvers, [name]: { keys: [...keys, { publicKey, addedAt: at, addedBy: actor }] } } };
      });
      await audit({ at, actor, action: 'approver.add', detail: { approver: name, publicKey, ...(replaced ? { replaced } : {}) } });
    },

    async revokeApprover(name, actor) {
      parseOr(ApproverNameSchema, name, `approver name ${JSON.stringify(name)}`);
      let revoked: string[] = [];
      const at = await updateDirectory((d, at) => {
        const entry = d.approvers[name];
        revoked = entry?.keys.filter((k) => k.revokedAt === undefined).map((k) => k.publicKey) ?? [];
        if (revoked.length === 0) throw new MlcycleError('NOT_FOUND', `approver "${name}" has no active key to revoke`);
        return { approvers: { ...d.approvers, [name]: { keys: entry!.keys.map((k) => (k.revokedAt === undefined ? { ...k, revokedAt: at, revokedBy: actor } : k)) } } };
      });
      await audit({ at, actor, action: 'approver.revoke', detail: { approver: name, publicKeys: revoked } });
    },

    async policyFor(model) {
      for (const scope of [model, DEFAULT_POLICY]) {
        if (!scopeOk(scope)) continue;
        const r = await latestPolicy(scope);
        if (r) return { ...r, scope };
      }
      return undefined;
    },

    async policies() {
      const scopes = new Set<string>();
      for (const key of await store.listNamed(POLICIES_PREFIX)) {
        const scope = key.slice(POLICIES_PREFIX.length).split('/')[0];
        if (scope && scopeOk(scope)) scopes.add(scope);
      }
      const out: PolicyRecord[] = [];
      for (const scope of [...scopes].sort()) {
        const r = await latestPolicy(scope);
        if (r) out.push({ ...r, scope });
      }
      return out;
    },

    async setPolicy(scope, policy, actor) {
      if (!scopeOk(scope)) throw new MlcycleError('USAGE', `policy set: model name ${JSON.stringify(scope)}: expected a model name or --default`);
      const parsed = checkPolicy(policy);
      const { result } = await updateState(store, `${POLICIES_PREFIX}${scope}/`, parsePolicy, async (state) => {
        const record = { policy: { ...parsed, approvers: [...new Set(parsed.approvers)] }, setAt: now(), setBy: actor };
        return { next: record, result: { record, previous: state.value } };
      });
      await audit({ at: result.record.setAt, actor, action: 'policy.set', detail: { scope, policy: result.record.policy, ...(result.previous ? { previous: result.previous.policy } : {}) } });
    },

    async adminAudit() {
      const keys = (await store.listNamed(ADMIN_AUDIT_PREFIX)).filter((k) => k.endsWith('.json')).sort();
      const out: AdminAuditEntry[] = [];
      for (const k of keys) {
        const e = await readJson(adminAuditSchema, k);
        if (e) out.push(e);
      }
      return out;
    },
  };
}
