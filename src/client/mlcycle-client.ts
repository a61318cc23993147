import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { approvalQuery, decideUpdate, type DecisionInput, type PendingGate } from '../../workflows/approval-definitions';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { execSync } from 'node:child_process';
import { packageVersion } from '../package-info';
import { MlcycleError } from '../errors';
import { loadPipelineSpec, resolveSource, type LoadedSpec } from '../spec/pipeline-spec';
import path from 'node:path';
import { KIND, MODEL, STAGE } from '../../workflows/search-attributes';
import type { PipelineInput, PipelineProgress, PipelineResult } from '../../workflows/pipeline-types';
import { DEFAULT_MAX_TRIALS_PER_RUN, tuningStudy, type StudyInput, type StudyResult } from '../../workflows/tuning-study';
import type { RunStatus } from './run-status';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { tracingClientInterceptors } from '../observability/tracing';
import { mlcycleDataConverter } from '../codec/data-converter';
import type { Keyring } from '../codec/keyring';

export interface ClientOptions {
  address: string;
  namespace: string;
  /** Prefix of the cpu/gpu task queue names (MLCYCLE_QUEUE_PREFIX); workers must use the same. */
  queuePrefix?: string;
  /** Base URL of the Temporal Web UI, to print links to runs. */
  webUiUrl?: string;
  /** Payload encryption keys (loadKeyring); undefined sends plaintext but still refuses to guess at encrypted results. */
  keyring?: Keyring;
}

export interface StartOptions {
  cache?: boolean;
  workflowId?: string;
  codeVersion?: string;
}

/**
 * The typed client API: start a pipeline from a spec, read its status, await its result.
 * The CLI is a thin layer over this.
 */
export class MlcycleClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    readonly options: ClientOptions,
  ) {}

  static async connect(options: ClientOptions): Promise<MlcycleClient> {
    let connection: Connection;
    try {
      connection = await Connection.connect({ address: options.address, connectTimeout: 5000 });
    } catch (err) {
      throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal server not reachable at ${options.address}: ${(err as Error).message}`, { cause: err });
    }
    return new MlcycleClient(new Client({ connection, namespace: options.namespace, interceptors: tracingClientInterceptors(), dataConverter: mlcycleDataConverter(options.keyring) }), connection, options);
  }

  private loadedConverter?: ReturnType<typeof loadDataConverter>;

  private async decodeHeartbeat(payloads: Payload[] | null | undefined): Promise<Record<string, unknown> | undefined> {
    if (!payloads?.length) return undefined;
    try {
      this.loadedConverter ??= loadDataConverter(mlcycleDataConverter(this.options.keyring));
      const value = await decodeFromPayloadsAtIndex<unknown>(this.loadedConverter, 0, payloads);
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      // Progress is a nicety: a heartbeat this client cannot read must not fail `status`.
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** What a pipeline run of this spec gets as input (also what a monitor retrains with). */
  pipelineInput(loaded: LoadedSpec, opts: StartOptions = {}): PipelineInput {
    return {
      spec: loaded.spec,
      source: loaded.resolvedSource,
      specPath: loaded.specPath,
      specDir: path.dirname(loaded.specPath),
      ...(loaded.spec.validation.reference ? { referenceSource: resolveSource(loaded.spec.validation.reference, path.dirname(loaded.specPath)) } : {}),
      codeVersion: opts.codeVersion ?? codeVersion(),
      cache: opts.cache ?? loaded.spec.cache,
      queues: this.queues(),
    };
  }

  async startPipeline(spec: string | LoadedSpec, opts: StartOptions = {}): Promise<{ workflowId: string; runId: string }> {
    const loaded = typeof spec === 'string' ? await loadPipelineSpec(spec) : spec;
    const input = this.pipelineInput(loaded, opts);
    const workflowId = opts.workflowId ?? `${loaded.spec.name}-train-${randomUUID().slice(0, 8)}`;
    const handle = await this.temporal.workflow.start('trainingPipeline', {
      taskQueue: input.queues.cpu,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: MODEL, value: loaded.spec.name },
        { key: KIND, value: 'training-pipeline' },
        { key: STAGE, value: 'ingest' },
      ],
      staticSummary: `Train ${loaded.spec.name} (${loaded.spec.train.trainer}) on ${loaded.spec.data.source}`,
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  }

  queues(): { cpu: string; gpu: string } {
    const prefix = this.options.queuePrefix ?? '';
    return { cpu: `${prefix}cpu`, gpu: `${prefix}gpu` };
  }

  webUiLink(workflowId: string): string | undefined {
    if (!this.options.webUiUrl) return undefined;
    return `${this.options.webUiUrl}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  async status(workflowId: string): Promise<RunStatus> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new MlcycleError('NOT_FOUND', `no workflow run with id "${workflowId}" in namespace ${this.options.namespace}`);
      }
      throw err;
    }
    let progress: PipelineProgress | undefined;
    // The query needs a worker; a run whose workers are gone still has a status from history.
    try {
      progress = await handle.query<PipelineProgress>('status');
    } catch {
      // A run that failed before its first workflow task has no query handler yet.
    }
    const pending = description.raw.pendingActivities ?? [];
    // Heartbeat details are payloads like any other: encrypted, so decoded through the codec.
    const heartbeats = new Map<(typeof pending)[number], Record<string, unknown> | undefined>();
    for (const live of pending) heartbeats.set(live, await this.decodeHeartbeat(live.heartbeatDetails?.payloads));
    const steps = (progress?.steps ?? []).map((step) => {
      const live = pending.find((p) => activityStep(p.activityType?.name ?? '') === step.name);
      if (!live) return step;
      const beat = heartbeats.get(live);
      return {
        ...step,
        attempts: Math.max(step.attempts, live.attempt ?? 1),
        ...(beat && typeof beat.done === 'number' && typeof beat.total === 'number' ? { progress: { done: beat.done, total: beat.total } } : {}),
        ...(beat && typeof beat.resumedFrom === 'number' ? { resumedFrom: beat.resumedFrom } : {}),
      };
    });

    const status: RunStatus = {
      workflowId,
      runId: description.runId,
      status: 'running',
      stage: progress?.stage ?? 'starting',
      steps,
      ...(progress?.artifacts && Object.keys(progress.artifacts).length ? { artifacts: progress.artifacts } : {}),
      ...(progress?.model ? { model: progress.model } : {}),
    };
    const link = this.webUiLink(workflowId);
    if (link) status.webUiUrl = link;

    switch (description.status.name) {
      case 'RUNNING':
        status.status = progress?.stage === 'approval' ? 'awaiting_approval' : 'running';
        break;
      case 'COMPLETED': {
        const result = (await handle.result()) as PipelineResult;
        const outcome: string = result.outcome;
        status.status = outcome === 'rejected' ? 'rejected' : outcome === 'rolled_back' ? 'failed' : 'completed';
        status.stage = result.stage;
        status.steps = result.steps;
        if (outcome === 'rolled_back') {
          status.error = `deployment rolled back: ${result.steps.find((s) => s.name === 'deploy')?.summary ?? 'guardrail breach'}`;
        }
        if (result.model) status.model = result.model;
        break;
      }
      case 'CANCELLED':
        status.status = 'cancelled';
        break;
      default:
        status.status = 'failed';
        status.error = await this.failureMessage(workflowId);
    }
    return status;
  }

  /** Starts a hyperparameter study for a spec with a `tune:` section. */
  async startStudy(spec: string | LoadedSpec, opts: { workflowId?: string; maxTrialsPerRun?: number; codeVersion?: string } = {}): Promise<{ studyId: string }> {
    const loaded = typeof spec === 'string' ? await loadPipelineSpec(spec) : spec;
    const { spec: s } = loaded;
    if (!s.tune) throw new MlcycleError('SPEC_INVALID', `${loaded.specPath}: tune: the spec has no tune section`);
    if (s.train.trainer === 'command') throw new MlcycleError('SPEC_INVALID', 'train.trainer: tuning supports the built-in trainers (logistic-regression, gradient-boosting)');
    const studyId = opts.workflowId ?? `${s.name}-study-${randomUUID().slice(0, 8)}`;
    const seed = typeof s.train.params.seed === 'number' ? s.train.params.seed : s.data.split.seed;
    const { seed: _seed, ...baseParams } = s.train.params;
    const input: StudyInput = {
      name: s.name,
      tune: s.tune,
      data: s.data,
      trainer: s.train.trainer,
      baseParams,
      seed,
      source: loaded.resolvedSource,
      queues: this.queues(),
      trainQueue: s.train.resources.queue,
      codeVersion: opts.codeVersion ?? codeVersion(),
      cache: s.cache,
      maxTrialsPerRun: opts.maxTrialsPerRun ?? DEFAULT_MAX_TRIALS_PER_RUN,
    };
    await this.temporal.workflow.start(tuningStudy, {
      taskQueue: input.queues.cpu,
      workflowId: studyId,
      args: [input],
      typedSearchAttributes: [
        { key: MODEL, value: s.name },
        { key: KIND, value: 'tuning-study' },
        { key: STAGE, value: 'tuning' },
      ],
      staticSummary: `Tune ${s.name}: ${s.tune.strategy}, ${s.tune.trials} trials × ${s.tune.concurrency} at once, ${s.tune.metric}`,
    });
    return { studyId };
  }

  /**
   * Records an approval decision through the validated update: a refused decision (identity not on
   * the list, second vote, closed gate, rejection without reason) throws DECISION_REFUSED and
   * leaves the run's history untouched.
   */
  async decide(workflowId: string, decision: DecisionInput): Promise<PendingGate> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    try {
      return await handle.executeUpdate(decideUpdate, { args: [decision] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // A closed run answers updates as "not found": tell the two apart for the reviewer.
        const closed = await handle.describe().then((d) => d.status.name, () => undefined);
        if (closed) throw new MlcycleError('DECISION_REFUSED', `${decision.decision} refused: run ${workflowId} is ${closed.toLowerCase()}, its approval gate is closed`);
        throw new MlcycleError('NOT_FOUND', `no workflow run with id "${workflowId}"`);
      }
      if (err instanceof WorkflowUpdateFailedError) {
        throw new MlcycleError('DECISION_REFUSED', `${decision.decision} refused: ${rootMessage(err)}`);
      }
      const message = (err as Error).message ?? String(err);
      if (/not found|unknown update|workflow execution already completed/i.test(message)) {
        throw new MlcycleError('DECISION_REFUSED', `${decision.decision} refused: run ${workflowId} has no open approval gate (${message})`);
      }
      throw err;
    }
  }

  /** Pending approval gates, found through the ApprovalStatus search attribute (as the Web UI can). */
  async pendingApprovals(): Promise<Array<{ workflowId: string; gate: PendingGate }>> {
    const out: Array<{ workflowId: string; gate: PendingGate }> = [];
    for await (const wf of this.temporal.workflow.list({ query: `ApprovalStatus = "Pending" AND ExecutionStatus = "Running"` })) {
      const gate = await this.temporal.workflow.getHandle(wf.workflowId).query(approvalQuery).catch(() => null);
      if (gate && gate.status === 'Pending') out.push({ workflowId: wf.workflowId, gate });
    }
    return out;
  }

  async studyResult(studyId: string): Promise<StudyResult> {
    return this.temporal.workflow.getHandle<typeof tuningStudy>(studyId).result();
  }

  async result(workflowId: string): Promise<PipelineResult> {
    return this.temporal.workflow.getHandle(workflowId).result();
  }

  /** The innermost failure message of a failed run: what a person needs to read. */
  async failureMessage(workflowId: string): Promise<string> {
    try {
      await this.temporal.workflow.getHandle(workflowId).result();
      return '';
    } catch (err) {
      return rootMessage(err);
    }
  }
}

export function rootMessage(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure || (current instanceof TemporalFailure && !(current instanceof WorkflowFailedError))) {
      message = current.message;
    }
    current = (current as Error).cause;
  }
  return message;
}

const ACTIVITY_STEPS: Record<string, string> = {
  ingestDataset: 'ingest',
  validateDataset: 'validate',
  trainModel: 'train',
  evaluateModel: 'evaluate',
  registerModel: 'register',
};
function activityStep(activityType: string): string | undefined {
  return ACTIVITY_STEPS[activityType];
}


/** The code version recorded in lineage: env override, else the git commit, else the package version. */
export function codeVersion(): string {
  if (process.env.MLCYCLE_CODE_VERSION) return process.env.MLCYCLE_CODE_VERSION;
  try {
    const sha = execSync('git rev-parse --short=12 HEAD', { stdio: ['ignore', 'pipe', 'ignore'], cwd: __dirname }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { stdio: ['ignore', 'pipe', 'ignore'], cwd: __dirname }).toString().trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return `mlcycle@${packageVersion()}`;
  }
}
