import { createHash } from 'node:crypto';
import type { RunStatus } from '../../src/client/run-status';
import { createModelRegistry, type AuditEntry, type ModelVersion } from '../../src/registry/model-registry';
import type { ArtifactStore } from '../../src/storage/artifact-store';

/** What a run should have left in the registry. */
export interface RunOutcome {
  workflowId: string;
  status: RunStatus;
  /** It reached register (a run that failed before has no version). */
  registers: boolean;
  /** Its deployment moved the alias (one move, keyed on the run). */
  promotes: boolean;
}

export interface RegistryCheck {
  model: string;
  versions: number;
  /** Versions 1..n without gaps. */
  consecutive: boolean;
  duplicateRegistrations: string[];
  missingRegistrations: string[];
  unexpectedRegistrations: string[];
  versionMismatches: string[];
  /** Versions whose "model.registered" audit entry is missing or doubled. */
  registeredAuditProblems: string[];
  aliasMoves: number;
  duplicateAliasMoves: string[];
  missingAliasMoves: string[];
  /** The alias points at a version that exists. */
  aliasResolves: boolean;
  artifactsVerified: number;
  hashMismatches: string[];
  /** Audit entries written twice by a retried activity (must be none: they are idempotent). */
  duplicateAuditEntries: string[];
}

const CONTENT_KEY = /\/artifacts\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

function countBy<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) {
    const k = key(it);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Every artifact a version points at: the model, its reports, the dataset snapshot and manifest. */
function artifactUris(v: ModelVersion): string[] {
  return [v.modelUri, ...Object.values(v.reports), v.lineage.datasetUri, v.lineage.manifestUri];
}

/**
 * Reads the registry back and checks the fault suite's promises: one version per run that
 * registered (by lineage workflow id), consecutive numbers, one "registered" audit entry per
 * version, one alias move per promotion (by its idempotency key), and every registered artifact's
 * bytes hashing to the sha256 its content address names.
 */
export async function checkRegistry(store: ArtifactStore, model: string, runs: readonly RunOutcome[], alias = 'production'): Promise<RegistryCheck> {
  const registry = createModelRegistry({ store });
  const versions = await registry.listVersions(model);
  const audit = await registry.audit(model);

  const byRun = new Map<string, ModelVersion[]>();
  for (const v of versions) byRun.set(v.lineage.workflowId, [...(byRun.get(v.lineage.workflowId) ?? []), v]);
  const known = new Set(runs.map((r) => r.workflowId));

  const duplicateRegistrations = [...byRun].filter(([, vs]) => vs.length > 1).map(([wf, vs]) => `${wf}: versions ${vs.map((v) => v.version).join(', ')}`);
  const missingRegistrations = runs.filter((r) => r.registers && !byRun.has(r.workflowId)).map((r) => r.workflowId);
  const unexpectedRegistrations = [
    ...runs.filter((r) => !r.registers && byRun.has(r.workflowId)).map((r) => `${r.workflowId} (should not have registered)`),
    ...[...byRun.keys()].filter((wf) => !known.has(wf)).map((wf) => `${wf} (no such run)`),
  ];
  const versionMismatches = runs
    .filter((r) => r.registers && r.status.model && byRun.get(r.workflowId)?.[0]?.version !== r.status.model.version)
    .map((r) => `${r.workflowId}: status says v${r.status.model?.version}, registry has v${byRun.get(r.workflowId)?.map((v) => v.version).join(',')}`);
  const consecutive = versions.every((v, i) => v.version === i + 1);

  const registered = countBy(
    audit.filter((a) => a.action === 'model.registered'),
    (a) => String(a.version),
  );
  const registeredAuditProblems = versions.filter((v) => registered.get(String(v.version)) !== 1).map((v) => `v${v.version}: ${registered.get(String(v.version)) ?? 0} entries`);

  const moves = audit.filter((a) => a.action === 'alias.set' && a.alias === alias);
  const moveKeys = countBy(moves, (a) => (typeof a.detail?.idempotencyKey === 'string' ? a.detail.idempotencyKey : `(no key) ${a.at}`));
  const duplicateAliasMoves = [...moveKeys].filter(([, n]) => n > 1).map(([k, n]) => `${k} × ${n}`);
  const missingAliasMoves = runs.filter((r) => r.promotes && (moveKeys.get(`${r.workflowId}/promote/${alias}`) ?? 0) === 0).map((r) => r.workflowId);

  let aliasResolves: boolean;
  try {
    const held = await registry.resolveAlias(model, alias);
    aliasResolves = runs.every((r) => !r.promotes) || held !== undefined;
  } catch {
    aliasResolves = false;
  }

  const uris = [...new Set(versions.flatMap(artifactUris))];
  const hashMismatches: string[] = [];
  let artifactsVerified = 0;
  for (const uri of uris) {
    const expected = CONTENT_KEY.exec(uri)?.[1];
    if (!expected) {
      hashMismatches.push(`${uri}: not a content address`);
      continue;
    }
    try {
      const actual = createHash('sha256').update(await store.getBytes(uri)).digest('hex');
      if (actual === expected) artifactsVerified++;
      else hashMismatches.push(`${uri}: bytes hash to ${actual}`);
    } catch (err) {
      hashMismatches.push(`${uri}: ${(err as Error).message}`);
    }
  }

  return {
    model,
    versions: versions.length,
    consecutive,
    duplicateRegistrations,
    missingRegistrations,
    unexpectedRegistrations,
    versionMismatches,
    registeredAuditProblems,
    aliasMoves: moves.length,
    duplicateAliasMoves,
    missingAliasMoves,
    aliasResolves,
    artifactsVerified,
    hashMismatches,
    duplicateAuditEntries: duplicateAppendOnlyEntries(audit),
  };
}

/**
 * Decisions and canary events are appended under random keys; a retried activity that had already
 * written its entry before its worker died writes a second one. Not an alias move or a version, so
 * not one of the suite's hard invariants, but worth knowing about.
 */
function duplicateAppendOnlyEntries(audit: readonly AuditEntry[]): string[] {
  const keyed = countBy(
    audit.filter((a) => ['approve', 'reject', 'canary-start', 'canary-rollback'].includes(a.action)),
    (a) => `${a.action} v${a.version ?? '?'} by ${a.actor}${typeof a.detail?.workflowId === 'string' ? ` in ${a.detail.workflowId}` : ''}`,
  );
  return [...keyed].filter(([, n]) => n > 1).map(([k, n]) => `${k} × ${n}`);
}
