/**
 * What the console shows, read through the same code the CLI uses: the model registry and trust
 * records over the artifact store (S3), and Temporal through MlcycleClient (status, approvals,
 * decisions) and the monitor schedule helpers. Nothing here writes except `decide` (which only
 * relays a statement the browser signed) and the monitor buttons.
 */
import { createHash } from 'node:crypto';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { MlcycleClient } from '../client/mlcycle-client';
import { describeMonitor, scheduleIdFor, withMonitor } from '../client/monitor-schedules';
import type { RunStatus } from '../client/run-status';
import { decisionProblem } from '../approval/approval-policy';
import type { SignedVote } from '../approval/signed-vote';
import { MlcycleError, isMlcycleError } from '../errors';
import type { AuditEntry, ModelRegistry, ModelVersion } from '../registry/model-registry';
import { createModelRegistry } from '../registry/model-registry';
import { createTrustRecords, type ApproverDirectory, type TrustRecords } from '../registry/trust-records';
import { parseS3Uri, type ArtifactStore } from '../storage/artifact-store';
import { KIND, MODEL, STAGE } from '../../workflows/search-attributes';
import type { DeploymentResult } from '../../workflows/deployment';
import type { MonitorCheckResult } from '../../workflows/monitor';
import type { StudyResult } from '../../workflows/tuning-study';
import { cachedStore, type CachedStore } from './immutable-cache';
import type { MonitorCheckSummary } from './lineage';

export interface ConsoleDataDeps {
  client: MlcycleClient;
  store: ArtifactStore;
  /** Bucket and key prefix of the store, to tell our artifacts from any other s3:// URI. */
  bucket: string;
  prefix?: string;
}

/** Audit entries per page of a model's log. */
export const AUDIT_PAGE_SIZE = 50;

export interface AuditRow {
  index: number;
  entry: AuditEntry;
  /** Decisions only: verified against the approver directory, or why not. */
  signature?: { verified: true } | { verified: false; problem: string };
}

export interface OtherRun extends RunRow {
  result?: unknown;
  error?: string;
  webUiUrl?: string;
}

export interface RunRow {
  workflowId: string;
  runId: string;
  type: string;
  kind?: string;
  model?: string;
  stage?: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

/** Visibility rows, newest first, at most `limit`. */
async function listRuns(client: MlcycleClient, query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const wf of client.temporal.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    out.push(wf);
    if (out.length >= limit) break;
  }
  return out;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

function runRow(wf: Omit<WorkflowExecutionInfo, 'raw'>): RunRow {
  const model = wf.typedSearchAttributes.get(MODEL);
  const kind = wf.typedSearchAttributes.get(KIND);
  const stage = wf.typedSearchAttributes.get(STAGE);
  return {
    workflowId: wf.workflowId,
    runId: wf.runId,
    type: wf.type,
    ...(kind ? { kind } : {}),
    ...(model ? { model } : {}),
    ...(stage ? { stage } : {}),
    status: wf.status.name,
    startTime: wf.startTime.toISOString(),
    ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
  };
}

/** Results are immutable once a run closed: remembered by workflow and run id. */
class ResultCache {
  private readonly map = new Map<string, unknown>();
  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.map.has(key)) return this.map.get(key) as T;
    const v = await load();
    this.map.set(key, v);
    if (this.map.size > 5000) this.map.delete(this.map.keys().next().value as string);
    return v;
  }
}

/** The audit actions the alias history and the lineage's deployments are made of. */
export const ALIAS_ACTIONS = ['alias.set', 'alias.rollback', 'canary-start', 'canary-rollback'];
/** The newest alias moves and canaries a model page shows. */
export const ALIAS_HISTORY_LIMIT = 100;
/** Enough for every alias move a version page's lineage could need. */
const LINEAGE_MOVES_LIMIT = 10_000;

export function createConsoleData(deps: ConsoleDataDeps) {
  const store: CachedStore = cachedStore(deps.store);
  const registry: ModelRegistry = createModelRegistry({ store });
  const trust: TrustRecords = createTrustRecords({ store });
  const { client } = deps;
  const results = new ResultCache();
  // Signature checks are pure functions of (statement, signature, key at that time): memoized.
  const verified = new Map<string, true | string>();

  function verifyEntry(entry: AuditEntry, directory: ApproverDirectory): AuditRow['signature'] {
    if (entry.action !== 'approve' && entry.action !== 'reject') return undefined;
    const keyState = JSON.stringify(directory.approvers[entry.actor] ?? null);
    const memoKey = createHash('sha256').update(JSON.stringify([entry, keyState])).digest('hex');
    let r = verified.get(memoKey);
    if (r === undefined) {
      const p = decisionProblem(entry, directory);
      r = typeof p === 'string' ? p : true;
      verified.set(memoKey, r);
      if (verified.size > 100_000) verified.delete(verified.keys().next().value as string);
    }
    return r === true ? { verified: true } : { verified: false, problem: r };
  }

  async function closedResult<T>(wf: { workflowId: string; runId: string; status: string }): Promise<T | undefined> {
    if (wf.status !== 'COMPLETED') return undefined;
    return results.get(`${wf.workflowId}/${wf.runId}`, async () => {
      try {
        return (await client.temporal.workflow.getHandle(wf.workflowId, wf.runId).result()) as T;
      } catch {
        return undefined;
      }
    });
  }

  async function monitorChecks(model: string, limit: number): Promise<Array<MonitorCheckSummary & { result?: MonitorCheckResult }>> {
    const rows = (await listRuns(client, `${MODEL.name} = ${quote(model)} AND ${KIND.name} = "monitor-check"`, limit)).map(runRow);
    return Promise.all(
      rows.map(async (r) => {
        const result = await closedResult<MonitorCheckResult>(r);
        const verdict = result?.verdict ?? (r.stage?.startsWith('verdict:') ? r.stage.slice('verdict:'.length) : r.status === 'RUNNING' ? 'running' : r.status.toLowerCase());
        return {
          workflowId: r.workflowId,
          at: r.startTime,
          verdict,
          ...(result?.version !== undefined ? { version: result.version } : {}),
          drifted: result?.drifted ?? [],
          ...(result?.htmlUri ? { htmlUri: result.htmlUri } : {}),
          ...(result?.retrain?.started && result.retrain.workflowId ? { retrainWorkflowId: result.retrain.workflowId } : {}),
          ...(result ? { result } : {}),
        };
      }),
    );
  }

  /** The last drift verdict of a model, from the check's stage search attribute (no result decoding). */
  async function lastVerdict(model: string): Promise<{ verdict: string; at: string; workflowId: string } | undefined> {
    const [wf] = await listRuns(client, `${MODEL.name} = ${quote(model)} AND ${KIND.name} = "monitor-check"`, 1);
    if (!wf) return undefined;
    const r = runRow(wf);
    return { verdict: r.stage?.startsWith('verdict:') ? r.stage.slice('verdict:'.length) : r.status.toLowerCase(), at: r.startTime, workflowId: r.workflowId };
  }

  return {
    registry,
    trust,
    store,
    client,

    /**
     * Reads every model's versions, aliases and audit log once, so the first person to open a
     * model page after a (re)start does not wait for a thousand S3 reads. Pages asked for
     * meanwhile share the reads in flight. Returns how many models it read.
     */
    async warm(): Promise<number> {
      await trust.directory();
      const models = await registry.listModels();
      for (const m of models) {
        await Promise.all([
          registry.listVersions(m.name),
          registry.auditPage(m.name, { limit: AUDIT_PAGE_SIZE }),
          registry.auditPage(m.name, { actions: ALIAS_ACTIONS, limit: ALIAS_HISTORY_LIMIT }),
        ]);
      }
      return models.length;
    },

    /** Only artifacts of this store's bucket and prefix, content-addressed: never an arbitrary object. */
    ownArtifact(uri: string): boolean {
      try {
        const { bucket, key } = parseS3Uri(uri);
        const prefix = deps.prefix ? (deps.prefix.endsWith('/') ? deps.prefix : `${deps.prefix}/`) : '';
        return bucket === deps.bucket && new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}artifacts/sha256/[0-9a-f]{2}/[0-9a-f]{64}$`).test(key);
      } catch {
        return false;
      }
    },

    async artifact(uri: string): Promise<Buffer> {
      return store.getBytes(uri);
    },

    async models() {
      const [models, pending] = await Promise.all([registry.listModels(), client.pendingApprovals().catch(() => [])]);
      return Promise.all(
        models.map(async (m) => {
          const [latest, verdict] = await Promise.all([registry.getVersion(m.name, m.latestVersion), lastVerdict(m.name).catch(() => undefined)]);
          const awaiting = pending.filter((p) => p.gate?.model === m.name).map((p) => p.gate?.version as number);
          return { ...m, latest, verdict, awaiting };
        }),
      );
    },

    /**
     * A model page's data: only the asked page of the audit log (newest first) and the newest alias
     * moves and canaries are read, never the whole log; decisions on the page are verified.
     */
    async model(name: string, auditPage = 1) {
      const pageOf = (p: number) => registry.auditPage(name, { offset: (p - 1) * AUDIT_PAGE_SIZE, limit: AUDIT_PAGE_SIZE });
      const asked = Math.max(1, auditPage);
      const [versions, aliases, first, directory, policy, moves] = await Promise.all([
        registry.listVersions(name),
        registry.getAliases(name),
        pageOf(asked),
        trust.directory(),
        trust.policyFor(name),
        registry.auditPage(name, { actions: ALIAS_ACTIONS, limit: ALIAS_HISTORY_LIMIT }),
      ]);
      const total = first.total;
      const auditPages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
      const page = Math.min(auditPages, asked);
      // A page past the end shows the last one.
      const { entries } = page === asked ? first : await pageOf(page);
      const auditRows = entries.map((entry, i) => {
        const signature = verifyEntry(entry, directory);
        return { index: total - 1 - ((page - 1) * AUDIT_PAGE_SIZE + i), entry, ...(signature ? { signature } : {}) };
      });
      // Chronological, as the table reads.
      const aliasHistory = [...moves.entries].reverse();
      return { name, versions, aliases, auditTotal: total, auditRows, auditPage: page, auditPages, aliasHistory, aliasHistoryTotal: moves.total, directory, policy };
    },

    /** Finished deployment workflows of a model with their guardrail readings (canaries). */
    async deployments(model: string, limit = 20) {
      const rows = (await listRuns(client, `${MODEL.name} = ${quote(model)} AND ${KIND.name} = "deployment"`, limit)).map(runRow);
      return Promise.all(rows.map(async (r) => ({ ...r, result: await closedResult<DeploymentResult>(r) })));
    },

    monitorChecks,

    async version(name: string, version: number) {
      const v = await registry.getVersion(name, version);
      if (!v) throw new MlcycleError('NOT_FOUND', `model "${name}" has no version ${version}`);
      const [versions, audit, manifest, checks] = await Promise.all([
        registry.listVersions(name),
        registry.auditPage(name, { actions: ALIAS_ACTIONS, limit: LINEAGE_MOVES_LIMIT }).then((p) => [...p.entries].reverse()),
        store.getJson<{ source?: string }>(v.lineage.manifestUri).catch(() => undefined),
        monitorChecks(name, 30).catch(() => []),
      ]);
      let leaderboard: string | undefined;
      if (v.lineage.studyId) {
        const study = await results.get(`study:${v.lineage.studyId}`, () => client.studyResult(v.lineage.studyId as string).catch(() => undefined as StudyResult | undefined));
        leaderboard = study?.leaderboard.htmlUri;
      }
      const drift = checks.find((c) => c.version === version && c.htmlUri);
      return { v, versions, audit, source: manifest?.source, checks, leaderboard, drift };
    },

    async runs(limit = 50): Promise<RunRow[]> {
      const rows = await listRuns(client, `${KIND.name} IS NOT NULL`, limit);
      return rows.map(runRow);
    },

    /**
     * A pipeline run as `mlcycle status` shows it; any other workflow (monitor check, deployment,
     * study) with its type, state and decoded result, since those have no step table.
     */
    async run(workflowId: string): Promise<{ pipeline: RunStatus } | { other: OtherRun }> {
      const description = await client.describeRun(workflowId);
      if (description.type === 'trainingPipeline') return { pipeline: await client.status(workflowId) };
      const row = runRow(description);
      let result: unknown;
      let error: string | undefined;
      if (row.status === 'COMPLETED') result = await closedResult<unknown>(row);
      else if (row.status !== 'RUNNING') error = await client.failureMessage(workflowId);
      const link = client.webUiLink(workflowId);
      return { other: { ...row, ...(result !== undefined ? { result } : {}), ...(error ? { error } : {}), ...(link ? { webUiUrl: link } : {}) } };
    },

    async monitors() {
      const out: Array<{ model: string; paused: boolean; note?: string; next?: string }> = [];
      for await (const s of client.temporal.schedule.list()) {
        if (!s.scheduleId.startsWith('monitor-')) continue;
        const model = s.scheduleId.slice('monitor-'.length);
        if (scheduleIdFor(model) !== s.scheduleId) continue;
        out.push({ model, paused: s.state.paused, ...(s.state.note ? { note: s.state.note } : {}), ...(s.info.nextActionTimes[0] ? { next: s.info.nextActionTimes[0].toISOString() } : {}) });
        if (out.length >= 200) break;
      }
      return out.sort((a, b) => (a.model < b.model ? -1 : 1));
    },

    async monitor(model: string) {
      const [schedule, checks] = await Promise.all([describeMonitor(client.temporal, model).catch((err: unknown) => {
        if (isMlcycleError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      }), monitorChecks(model, 30)]);
      // Per-feature values from each check's JSON report (content-addressed, so cached after the first read).
      const reports = await Promise.all(
        checks.map(async (c) => {
          const uri = c.result?.reportUri;
          if (!uri) return undefined;
          type Feature = { feature: string; value: number | null; threshold: number; drifted: boolean; method: string };
          // The check's JSON report (format mlcycle-drift/v1): per-feature results under `raw`.
          const r = await store.getJson<{ raw?: { features?: Feature[] }; features?: Feature[] }>(uri).catch(() => undefined);
          const features = r?.raw?.features ?? r?.features;
          return features ? { features } : undefined;
        }),
      );
      return { model, schedule, checks, reports };
    },

    /** The same calls `mlcycle monitor pause|resume|trigger` make. */
    async monitorAction(model: string, action: 'pause' | 'resume' | 'trigger', note: string) {
      await withMonitor(client.temporal, model, async (h) => {
        if (action === 'pause') await h.pause(note);
        else if (action === 'resume') await h.unpause(note);
        else await h.trigger();
      });
    },

    async approvals() {
      const pending = await client.pendingApprovals();
      return Promise.all(
        pending.map(async (p) => {
          if (!p.gate) return { ...p, champion: undefined as ModelVersion | undefined };
          const champion = await registry.resolveAlias(p.gate.model, 'production').catch(() => undefined);
          return { ...p, champion: champion && champion.version !== p.gate.version ? champion : undefined };
        }),
      );
    },

    /** Relays a statement the approver signed in the browser; the gate verifies it (the console cannot forge one). */
    async relayVote(workflowId: string, vote: SignedVote, decision: 'approve' | 'reject') {
      return client.submitSignedVote(workflowId, vote, decision);
    },
  };
}

export type ConsoleData = ReturnType<typeof createConsoleData>;
