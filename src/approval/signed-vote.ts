/**
 * Signed approval votes. An approver signs a canonical statement that binds the exact run
 * (workflow id + run id), the model version and the decision; the gate (inside the workflow
 * sandbox), the promotion check (in a worker) and `mlcycle audit verify` all verify it the same
 * way. Identity comes from the key, never from a name in a payload.
 *
 * Pure and deterministic (zod and @noble/curves, no Node APIs), so the workflow's update validator
 * and signal handlers can run it.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';

export const STATEMENT_TYPE = 'mlcycle.approval/v1';
/** How far a statement's timestamp may lie outside the gate's window (clock skew between machines). */
export const CLOCK_SKEW_MS = 5 * 60_000;
export const PUBLIC_KEY_PREFIX = 'ed25519:';
const MAX_TEXT = 10_000;

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Strict base64 (no whitespace, canonical padding); undefined when `s` is not. */
export function base64ToBytes(s: string): Uint8Array | undefined {
  if (!B64.test(s) || s.length % 4 !== 0) return undefined;
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of clean) {
    value = (value << 6) | ALPHABET.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  // Non-zero leftover bits mean a non-canonical encoding.
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63]! : '=';
  }
  return out;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** `ed25519:<base64 of 32 bytes>` → the raw key; undefined when malformed. */
export function parsePublicKey(text: string): Uint8Array | undefined {
  if (!text.startsWith(PUBLIC_KEY_PREFIX)) return undefined;
  const raw = base64ToBytes(text.slice(PUBLIC_KEY_PREFIX.length));
  return raw && raw.length === 32 ? raw : undefined;
}

export const PublicKeySchema = z
  .string()
  .refine((s) => parsePublicKey(s) !== undefined, 'expected an Ed25519 public key as ed25519:<base64 of 32 bytes> (mlcycle approvers keygen prints one)');

/** The spec's approver identities: the same names a directory entry and a statement carry. */
export const APPROVER_NAME = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]{0,63}$/;
export const ApproverNameSchema = z.string().regex(APPROVER_NAME, 'expected an approver name: 1-64 letters, digits, . _ @ + - (not starting with a dot)');

export const StatementSchema = z
  .object({
    type: z.literal(STATEMENT_TYPE),
    workflowId: z.string().min(1).max(1000),
    runId: z.string().min(1).max(100),
    model: z.string().min(1).max(64),
    version: z.number().int().positive(),
    decision: z.enum(['approve', 'reject']),
    approver: ApproverNameSchema,
    comment: z.string().max(MAX_TEXT).optional(),
    reason: z.string().max(MAX_TEXT).optional(),
    at: z.string().refine((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(s) && !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 UTC timestamp'),
  })
  .strict();
export type ApprovalStatement = z.infer<typeof StatementSchema>;

/** What signals and the `decide` update carry: the exact statement text and its signature. */
export const SignedVoteSchema = z
  .object({
    statement: z.string().min(1).max(4 * MAX_TEXT),
    signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 Ed25519 signature (64 bytes)'),
  })
  .strict();
export type SignedVote = z.infer<typeof SignedVoteSchema>;

/** The one serialization that is signed: fixed key order, no whitespace. */
export function canonicalStatement(s: ApprovalStatement): string {
  const ordered: Record<string, unknown> = {
    type: s.type,
    workflowId: s.workflowId,
    runId: s.runId,
    model: s.model,
    version: s.version,
    decision: s.decision,
    approver: s.approver,
  };
  if (s.comment !== undefined) ordered.comment = s.comment;
  if (s.reason !== undefined) ordered.reason = s.reason;
  ordered.at = s.at;
  return JSON.stringify(ordered);
}

export class VoteRefused extends Error {
  override readonly name = 'VoteRefused';
}

/** Shape, canonical form and fields of a statement text; throws VoteRefused naming what is wrong. */
export function parseStatement(text: string): ApprovalStatement {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VoteRefused('statement: not JSON');
  }
  const r = StatementSchema.safeParse(json);
  if (!r.success) throw new VoteRefused(`statement: ${formatIssues(r.error).split('\n').join('; ')}`);
  if (canonicalStatement(r.data) !== text) throw new VoteRefused('statement: not in canonical form (sign it with mlcycle approve)');
  return r.data;
}

/** True when `signature` (base64) is `publicKey`'s signature of the statement text. Strict RFC 8032. */
export function verifySignature(statement: string, signature: string, publicKey: string): boolean {
  const key = parsePublicKey(publicKey);
  const sig = base64ToBytes(signature);
  if (!key || !sig || sig.length !== 64) return false;
  try {
    return ed25519.verify(sig, utf8(statement), key, { zip215: false });
  } catch {
    return false;
  }
}

export interface VoteContext {
  workflowId: string;
  runId: string;
  model: string;
  version: number;
  /** Active public keys by approver name, as the registry's approver directory holds them. */
  keys: Readonly<Record<string, string>>;
  /** Workflow time (ms) the gate opened and now: the statement's time must fall in between (± skew). */
  openedAt: number;
  now: number;
  /** The decision the channel implies (a signal's name), if any. */
  decision?: 'approve' | 'reject';
}

/**
 * Checks a signed vote against a gate: shape, signature by the named approver's registered key,
 * the same run and version, the time window. Throws VoteRefused with the reason; the statement
 * otherwise. The gate's own rules (approver list, one vote each, closed gate) come after.
 */
export function verifyVote(input: unknown, ctx: VoteContext): ApprovalStatement {
  const shaped = SignedVoteSchema.safeParse(input);
  if (!shaped.success) {
    const looksUnsigned = typeof input === 'object' && input !== null && ('identity' in input || 'decision' in input) && !('signature' in input);
    throw new VoteRefused(
      looksUnsigned
        ? 'unsigned vote: decisions must be signed by a registered approver key (mlcycle approve --as <name>)'
        : `invalid signed vote: ${formatIssues(shaped.error).split('\n').join('; ')}`,
    );
  }
  const { statement: text, signature } = shaped.data;
  const s = parseStatement(text);
  const key = ctx.keys[s.approver];
  if (key === undefined) throw new VoteRefused(`"${s.approver}" has no active key in the approver directory (unknown or revoked)`);
  if (!verifySignature(text, signature, key)) throw new VoteRefused(`bad signature: the statement is not signed by the registered key of "${s.approver}"`);
  if (s.workflowId !== ctx.workflowId || s.runId !== ctx.runId) {
    throw new VoteRefused(`statement is for run ${s.workflowId}/${s.runId}, not this one (${ctx.workflowId}/${ctx.runId})`);
  }
  if (s.model !== ctx.model || s.version !== ctx.version) {
    throw new VoteRefused(`statement is for ${s.model} v${s.version}, this gate decides ${ctx.model} v${ctx.version}`);
  }
  if (ctx.decision !== undefined && s.decision !== ctx.decision) throw new VoteRefused(`statement says ${s.decision}, sent as ${ctx.decision}`);
  const at = Date.parse(s.at);
  if (at < ctx.openedAt - CLOCK_SKEW_MS || at > ctx.now + CLOCK_SKEW_MS) {
    throw new VoteRefused(`statement time ${s.at} lies outside the gate's window (opened ${new Date(ctx.openedAt).toISOString()})`);
  }
  return s;
}
