/**
 * The registry's approval policy over the spec's `approval:` section, and the check every move of
 * a protected alias passes. The spec travels through workflow history and anyone who can start a
 * workflow writes it; the policy lives in the registry, which only administrators write. So the
 * policy sets the floor: a spec may ask for more approvals, never fewer, and only the policy's
 * approvers count.
 */
import { MlcycleError } from '../errors';
import type { ModelRegistry } from '../registry/model-registry';
import { AUDIT_PAGE_MAX } from '../registry/registry-names';
import { activeKeys, keyAt, type ApproverDirectory, type PolicyRecord, type TrustRecords } from '../registry/trust-records';
import type { ApprovalSpec } from '../spec/pipeline-spec';
import { parseStatement, verifySignature } from './signed-vote';

/** The gate a run must pass: the policy's floor merged with what the spec asks. */
export function effectiveApproval(spec: ApprovalSpec | undefined, policy: PolicyRecord | undefined, alias: string): ApprovalSpec | undefined {
  if (!policy || !policy.policy.protect.includes(alias)) return spec;
  const p = policy.policy;
  // Narrowing to the spec's list is asking for more, as long as the quorum stays reachable.
  const narrowed = spec ? p.approvers.filter((a) => spec.approvers.includes(a)) : [];
  const required = Math.max(spec?.required ?? 0, p.required);
  const approvers = narrowed.length >= required ? narrowed : p.approvers;
  return {
    approvers,
    required: Math.min(required, approvers.length),
    timeout: spec?.timeout ?? p.timeout ?? '7d',
    ...(spec?.remindAfter ? { remindAfter: spec.remindAfter } : {}),
    // A protected alias is never moved by a clock.
    onTimeout: 'reject',
    ...(spec?.notify ? { notify: spec.notify } : {}),
  };
}

export interface VerifiedDecision {
  approver: string;
  decision: 'approve' | 'reject';
  at: string;
  workflowId: string;
  runId: string;
}

/**
 * Signed decisions for exactly this model version found in its audit log, each re-verified
 * against the key its approver held at the statement's time. Entries that do not verify are
 * returned apart (never counted).
 */
export async function verifiedDecisions(
  registry: ModelRegistry,
  directory: ApproverDirectory,
  model: string,
  version: number,
): Promise<{ valid: VerifiedDecision[]; invalid: Array<{ at: string; actor: string; why: string }> }> {
  const valid: VerifiedDecision[] = [];
  const invalid: Array<{ at: string; actor: string; why: string }> = [];
  // Only the decisions are read (their keys name their action), oldest first.
  const { entries } = await registry.auditPage(model, { actions: ['approve', 'reject'], limit: AUDIT_PAGE_MAX });
  for (const entry of [...entries].reverse()) {
    if ((entry.action !== 'approve' && entry.action !== 'reject') || entry.version !== version) continue;
    const why = decisionProblem(entry, directory);
    if (typeof why === 'string') invalid.push({ at: entry.at, actor: entry.actor, why });
    else valid.push(why);
  }
  return { valid, invalid };
}

/** Why an audit decision does not verify, or the verified decision. */
export function decisionProblem(
  entry: { at: string; actor: string; action: string; model: string; version?: number; detail?: Record<string, unknown> },
  directory: ApproverDirectory,
): string | VerifiedDecision {
  const statement = entry.detail?.statement;
  const signature = entry.detail?.signature;
  if (typeof statement !== 'string' || typeof signature !== 'string') return 'unsigned decision';
  let s;
  try {
    s = parseStatement(statement);
  } catch (err) {
    return (err as Error).message;
  }
  if (s.approver !== entry.actor) return `statement is signed as "${s.approver}", the entry says "${entry.actor}"`;
  if (s.decision !== entry.action) return `statement says ${s.decision}, the entry says ${entry.action}`;
  if (s.model !== entry.model || s.version !== entry.version) return `statement is for ${s.model} v${s.version}, the entry for ${entry.model} v${entry.version}`;
  const key = keyAt(directory, s.approver, s.at);
  if (!key) return `"${s.approver}" had no active key in the approver directory at ${s.at}`;
  if (!verifySignature(statement, signature, key.publicKey)) return `signature does not verify with the key of "${s.approver}"`;
  return { approver: s.approver, decision: s.decision, at: s.at, workflowId: s.workflowId, runId: s.runId };
}

/**
 * Refuses (DECISION_REFUSED) a move of `alias` to `version` unless the policy protecting it is
 * met by signed approvals of exactly that version from distinct policy approvers, with no signed
 * rejection. Unprotected aliases pass. `move` names the move in the refusal (default: the
 * promotion of that version); a rollback passes its own, since its target must meet the policy too.
 */
export async function assertPromotionAllowed(
  registry: ModelRegistry,
  trust: TrustRecords,
  m: { model: string; version: number; alias: string; move?: string },
): Promise<void> {
  const move = m.move ?? `promotion of ${m.model} v${m.version} to "${m.alias}"`;
  const policy = await trust.policyFor(m.model);
  if (!policy || !policy.policy.protect.includes(m.alias)) return;
  const directory = await trust.directory();
  const active = activeKeys(directory);
  const { valid } = await verifiedDecisions(registry, directory, m.model, m.version);
  const rejected = valid.find((d) => d.decision === 'reject');
  if (rejected) {
    throw new MlcycleError('DECISION_REFUSED', `${move} refused: rejected by ${rejected.approver} (${rejected.at})`);
  }
  // Distinct policy approvers whose key is still active (a revoked approver's vote no longer counts).
  const approvers = new Set(valid.filter((d) => d.decision === 'approve' && policy.policy.approvers.includes(d.approver) && active[d.approver] !== undefined).map((d) => d.approver));
  if (approvers.size < policy.policy.required) {
    const missing = policy.policy.approvers.filter((a) => !approvers.has(a));
    throw new MlcycleError(
      'DECISION_REFUSED',
      `${move} refused: the ${policy.scope === '_default' ? 'default' : `"${policy.scope}"`} policy protects "${m.alias}" and needs ${policy.policy.required} signed approval(s) of this version from ${policy.policy.approvers.join(', ')}; found ${approvers.size}${approvers.size ? ` (${[...approvers].join(', ')})` : ''}; missing ${policy.policy.required - approvers.size} more from ${missing.join(', ')}`,
    );
  }
}
