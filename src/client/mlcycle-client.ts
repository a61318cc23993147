import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowExecutionDescription } from '@temporalio/client';
import type { KeyObject } from 'node:crypto';
import { signVote } from '../approval/approver-keys';
import { approvalQuery, decideUpdate, type PendingGate } from '../../workflows/approval-definitions';
import type { SignedVote } from '../approval/signed-vote';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
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
import { loadKeyring, type Keyring } from '../codec/keyring';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings, temporalAddress, webUiUrl, type S3Settings } from '../config/env';
import { checkApproverName, defaultApproverKeyFile, loadApproverKey } from '../approval/approver-keys';
import { pipelineSpecAt, type PipelineSpecInput } from '../spec/pipeline-spec';
import { ModelCatalog } from './model-catalog';
import { workerAliasMover } from './alias-moves';
import { Monitors } from './monitors';
import { waitForRun, type WaitOptions } from './wait-for-run';

/** Where and how to connect; `MlcycleClient.fromEnv` reads the same from the environment. */
export interface ClientOptions {
  /** Temporal frontend, host:port (TEMPORAL_ADDRESS). */
  address: string;
  /** Temporal namespace (TEMPORAL_NAMESPACE). */
  namespace: string;
  /** Prefix of the cpu/gpu task queue names (MLCYCLE_QUEUE_PREFIX); workers must use the same. */
  queuePrefix?: string;
  /** Base URL of the Temporal Web UI, to print links to runs. */
  webUiUrl?: string;
  /** Payload encryption keys (loadKeyring); undefined sends plaintext but still refuses to guess at encrypted results. */
  keyring?: Keyring;
  /** Where the model registry lives, for `models.*`; fromEnv fills it from MLCYCLE_S3_* / AWS_*. */
  s3?: S3Settings;
}

/**
 * A pipeline spec: a path to a YAML/JSON file, a spec already loaded with `loadPipelineSpec`, or
 * a spec object (validated here; relative `file://` sources resolve against `baseDir`, default
 * the current directory).
 */
export type SpecInput = string | LoadedSpec | PipelineSpecInput;

/** An approver's signed vote: the key is a KeyObject or the path of a key file (default ~/.config/mlcycle/approvers/<approver>.key). */
export interface VoteOptions {
  /** The approver whose key signs (in the approver directory and on the gate's list). */
  approver: string;
  key?: KeyObject | string;
  /** Recorded (and signed) with the decision. */
  comment?: string;
}

/** A decision as the gate's `decide` update receives it (before signing). */
export interface DecisionRequest {
  decision: 'approve' | 'reject';
  /** The approver whose key signs (must be in the registry's approver directory and on the gate's list). */
  approver: string;
  comment?: string;
  reason?: string;
}

/** The gate's answer to a vote it accepted. */
export interface DecideOutcome {
  accepted: true;
  /** The gate after the vote; absent when the result could not be decoded here. */
  gate?: PendingGate;
  unreadable?: string;
}

/** How to start a pipeline run. */
export interface StartOptions {
  /** Reuse cached step outputs (default: the spec's `cache`). */
  cache?: boolean;
  /** Default `<name>-train-<random>`. */
  workflowId?: string;
  /** Recorded in lineage; default MLCYCLE_CODE_VERSION, else the git commit, else the package version. */
  codeVersion?: string;
  /** Where relative `file://` sources of a spec object resolve (default: the current directory). */
  baseDir?: string;
}

/** How to start a tuning study. */
export interface StudyOptions {
  /** Default `<name>-study-<random>`. */
  workflowId?: string;
  /** Trials per workflow run before it continues as new. */
  maxTrialsPerRun?: number;
  codeVersion?: string;
  baseDir?: string;
}

/**
 * The typed client API: start pipeline runs and tuning studies, follow them, vote on approval
 * gates, steer the model registry and drift monitors. The CLI is a thin layer over this.
 *
 * ```ts
 * const client = await MlcycleClient.fromEnv();
 * const { workflowId } = await client.run('examples/churn/lifecycle.yaml');
 * const status = await client.waitForRun(workflowId);
 * await client.close();
 * ```
 */
export class MlcycleClient {
  /** Drift monitors (Temporal Schedules): start, pause, resume, trigger, status. */
  readonly monitor: Monitors;
  private catalog?: ModelCatalog;

  private constructor(
    /** The underlying Temporal client, for what this API does not cover. */
    readonly temporal: Client,
    private readonly connection: Connection,
    readonly options: ClientOptions,
  ) {
    this.monitor = new Monitors(temporal, (loaded) => this.pipelineInput(loaded), (spec) => this.loadSpec(spec));
  }

  /**
   * Connects to Temporal with these options; without options, from the environment (see
   * `fromEnv`). SERVICE_UNREACHABLE when the server does not answer within 5 s.
   */
  static async connect(options?: ClientOptions): Promise<MlcycleClient> {
    if (!options) return MlcycleClient.fromEnv();
    let connection: Connection;
    try {
      connection = await Connection.connect({ address: options.address, connectTimeout: 5000 });
    } catch (err) {
      throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal server not reachable at ${options.address}: ${(err as Error).message}`, { cause: err });
    }
    return new MlcycleClient(new Client({ connection, namespace: options.namespace, interceptors: tracingClientInterceptors(), dataConverter: mlcycleDataConverter(options.keyring) }), connection, options);
  }

  /**
   * Connects as the CLI does: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, MLCYCLE_QUEUE_PREFIX,
   * MLCYCLE_WEB_UI_URL, the payload keys (MLCYCLE_CODEC_KEYS / MLCYCLE_CODEC_KEY_FILE) and the
   * registry's MLCYCLE_S3_* / AWS_* settings, each overridable. CONFIG_INVALID names a bad variable.
   */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ClientOptions> = {}): Promise<MlcycleClient> {
    const e = parseEnv(env);
    return MlcycleClient.connect({
      address: temporalAddress(e),
      namespace: e.TEMPORAL_NAMESPACE,
      webUiUrl: webUiUrl(e),
      queuePrefix: e.MLCYCLE_QUEUE_PREFIX,
      keyring: 'keyring' in overrides ? overrides.keyring : loadKeyring(e),
      s3: s3Settings(e, DEFAULT_S3_ENDPOINT),
      ...overrides,
    });
  }

  /**
   * The model registry. Promotions and rollbacks are carried out by a cpu worker through this
   * client's Temporal connection (the worker checks the approval policy and writes with its own
   * storage credentials); list and show read the registry and need `s3` in the options (fromEnv sets it).
   */
  get models(): ModelCatalog {
    return (this.catalog ??= new ModelCatalog(this.options.s3, workerAliasMover(this.temporal, this.queues().cpu)));
  }

  /** Loads and validates a spec given as a path, a loaded spec or a spec object. SPEC_INVALID lists every bad field. */
  async loadSpec(spec: SpecInput, baseDir = process.cwd()): Promise<LoadedSpec> {
    if (typeof spec === 'string') return loadPipelineSpec(spec);
    if (isLoadedSpec(spec)) return spec;
    return pipelineSpecAt(spec, path.resolve(baseDir, 'spec'), 'spec');
  }

  /** Starts the training pipeline for a spec; returns at once (see `waitForRun`). */
  async run(spec: SpecInput, opts: StartOptions = {}): Promise<{ workflowId: string; runId: string }> {
    return this.startPipeline(await this.loadSpec(spec, opts.baseDir), opts);
  }

  /** Polls a run until it completes, fails, is rejected or cancelled (or `until` holds). */
  waitForRun(workflowId: string, opts: WaitOptions = {}): Promise<RunStatus> {
    return waitForRun(this, workflowId, opts.onStatus ? { update: opts.onStatus } : undefined, opts.intervalMs, opts.until);
  }

  /** Signs and casts an approving vote on the run's open gate (see `decide`). */
  approve(workflowId: string, vote: VoteOptions): Promise<DecideOutcome> {
    return this.vote(workflowId, { decision: 'approve', approver: vote.approver, ...(vote.comment !== undefined ? { comment: vote.comment } : {}) }, vote.key);
  }

  /** Signs and casts a rejecting vote; the reason is required and recorded. */
  reject(workflowId: string, vote: VoteOptions & { reason: string }): Promise<DecideOutcome> {
    return this.vote(workflowId, { decision: 'reject', approver: vote.approver, reason: vote.reason, ...(vote.comment !== undefined ? { comment: vote.comment } : {}) }, vote.key);
  }

  private async vote(workflowId: string, request: DecisionRequest, key: KeyObject | string | undefined): Promise<DecideOutcome> {
    const name = checkApproverName(request.approver);
    const signingKey = typeof key === 'object' ? key : loadApproverKey(key ?? defaultApproverKeyFile(name));
    return this.decide(workflowId, request, signingKey);
  }

  /** Starts a hyperparameter study for a spec with a `tune:` section; await it with `studyResult`. */
  async tune(spec: SpecInput, opts: StudyOptions = {}): Promise<{ studyId: string }> {
    return this.startStudy(await this.loadSpec(spec, opts.baseDir), opts);
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

  /** Closes the connection; the client is unusable afterwards. */
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

  /** Starts the training pipeline for a spec file or loaded spec (`run` also takes spec objects). */
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

  /** The task queues this client starts work on (`<prefix>cpu`, `<prefix>gpu`). */
  queues(): { cpu: string; gpu: string } {
    const prefix = this.options.queuePrefix ?? '';
    return { cpu: `${prefix}cpu`, gpu: `${prefix}gpu` };
  }

  /** The run's page in the Temporal Web UI, when the UI's URL is known. */
  webUiLink(workflowId: string): string | undefined {
    if (!this.options.webUiUrl) return undefined;
    return `${this.options.webUiUrl}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  /** The run's description from the server; NOT_FOUND naming the id and namespace for an unknown id. */
  async describeRun(workflowId: string): Promise<WorkflowExecutionDescription> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new MlcycleError('NOT_FOUND', `no workflow run with id "${workflowId}" in namespace ${this.options.namespace}`);
      throw err;
    }
  }

  /**
   * The run's status as `mlcycle status --json` prints it: stage, steps (with live attempts and
   * progress from heartbeats), model, artifacts, error. NOT_FOUND for an unknown id.
   */
  async status(workflowId: string): Promise<RunStatus> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    const description = await this.describeRun(workflowId);
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
      case 'RUNNING': {
        // Awaiting approval once the gate is open (its step running), not while the approval
        // context is still being read: a vote sent then would find no gate.
        status.status = progress?.steps.some((s) => s.name === 'approval' && s.state === 'running') ? 'awaiting_approval' : 'running';
        // RUNNING says nothing about whether it moves: a failing workflow task is shown, not hidden.
        const trouble = await this.workflowTaskTrouble(workflowId);
        if (trouble) status.error = trouble;
        break;
      }
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
  async startStudy(spec: string | LoadedSpec, opts: StudyOptions = {}): Promise<{ studyId: string }> {
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
   * Signs and records an approval decision through the validated update. The statement binds this
   * run (workflow id + run id), the model version and the decision; a refused decision (bad or
   * unknown key, approver not on the list, second vote, closed gate, rejection without reason)
   * throws DECISION_REFUSED and leaves the run's history untouched. An update the server accepted
   * is reported as accepted even when its result cannot be read here.
   */
  async decide(workflowId: string, decision: DecisionRequest, key: KeyObject): Promise<DecideOutcome> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    const refused = (why: string) => new MlcycleError('DECISION_REFUSED', `${decision.decision} refused: ${why}`);
    const description = await this.describeRun(workflowId);
    if (description.status.name !== 'RUNNING') throw refused(`run ${workflowId} is ${description.status.name.toLowerCase()}, its approval gate is closed`);
    let gate: PendingGate | null;
    try {
      gate = await handle.query(approvalQuery);
    } catch (err) {
      throw refused(`cannot read the approval gate of ${workflowId}: ${rootMessage(err)}`);
    }
    if (!gate) throw refused(`run ${workflowId} has no open approval gate`);
    const vote: unknown = gate.signed
      ? signVote(key, {
          workflowId,
          runId: gate.runId ?? description.runId,
          model: gate.model,
          version: gate.version,
          decision: decision.decision,
          approver: decision.approver,
          ...(decision.comment !== undefined ? { comment: decision.comment } : {}),
          ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
        })
      : // A run opened before signed approvals replays its unsigned gate until it ends.
        { decision: decision.decision, identity: decision.approver, ...(decision.comment ? { comment: decision.comment } : {}), ...(decision.reason ? { reason: decision.reason } : {}) };
    return this.sendVote(workflowId, description.runId, vote, refused);
  }

  /**
   * Relays a statement someone signed elsewhere (the console's browser-side signing) through the
   * same validated update: the gate verifies it; nothing here can make it valid.
   */
  async submitSignedVote(workflowId: string, vote: SignedVote, decision: 'approve' | 'reject'): Promise<DecideOutcome> {
    const refused = (why: string) => new MlcycleError('DECISION_REFUSED', `${decision} refused: ${why}`);
    const description = await this.describeRun(workflowId);
    if (description.status.name !== 'RUNNING') throw refused(`run ${workflowId} is ${description.status.name.toLowerCase()}, its approval gate is closed`);
    return this.sendVote(workflowId, description.runId, vote, refused);
  }

  private async sendVote(workflowId: string, runId: string, vote: unknown, refused: (why: string) => MlcycleError): Promise<DecideOutcome> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    let update;
    try {
      update = await handle.startUpdate(decideUpdate, { args: [vote], waitForStage: WorkflowUpdateStage.ACCEPTED });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw refused(rootMessage(err));
      const message = (err as Error).message ?? String(err);
      if (err instanceof WorkflowNotFoundError || /not found|unknown update|workflow execution already completed/i.test(message)) {
        throw refused(`run ${workflowId} has no open approval gate (${message})`);
      }
      throw err;
    }
    try {
      return { accepted: true, gate: (await update.result()) };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw refused(rootMessage(err));
      // The outcome exists but could not be decoded here: ask the server which it was, undecoded.
      const raw = await this.temporal.workflowService.pollWorkflowExecutionUpdate({
        namespace: this.options.namespace,
        updateRef: { workflowExecution: { workflowId, runId: update.workflowRunId ?? runId }, updateId: update.updateId },
        waitPolicy: { lifecycleStage: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED },
      });
      if (raw.outcome?.success) return { accepted: true, unreadable: rootMessage(err) };
      throw refused(`the gate refused it (its reason cannot be read here: ${rootMessage(err)})`);
    }
  }

  /**
   * Pending approval gates, found through the ApprovalStatus search attribute (as the Web UI can).
   * A gate that cannot be read (its workflow tasks failing, or payloads this client cannot decode)
   * is listed with `error` instead of being left out.
   */
  async pendingApprovals(): Promise<Array<{ workflowId: string; gate?: PendingGate; error?: string }>> {
    const out: Array<{ workflowId: string; gate?: PendingGate; error?: string }> = [];
    for await (const wf of this.temporal.workflow.list({ query: `ApprovalStatus = "Pending" AND ExecutionStatus = "Running"` })) {
      const handle = this.temporal.workflow.getHandle(wf.workflowId);
      let gate: PendingGate | null = null;
      let error: string | undefined;
      try {
        gate = await handle.query(approvalQuery);
      } catch (err) {
        error = rootMessage(err);
      }
      const stuck = await this.workflowTaskTrouble(wf.workflowId);
      if (stuck) error = stuck;
      if (error) out.push({ workflowId: wf.workflowId, ...(gate ? { gate } : {}), error });
      else if (gate && gate.status === 'Pending') out.push({ workflowId: wf.workflowId, gate });
    }
    return out;
  }

  /**
   * A run whose workflow tasks keep failing makes no progress although it says RUNNING: the
   * pending workflow task's attempt count tells. Undefined when nothing is wrong.
   */
  async workflowTaskTrouble(workflowId: string): Promise<string | undefined> {
    const raw = await this.temporal.workflowService.describeWorkflowExecution({ namespace: this.options.namespace, execution: { workflowId } }).catch(() => undefined);
    const attempt = raw?.pendingWorkflowTask?.attempt ?? 0;
    if (attempt < 2) return undefined;
    return `workflow task failing (attempt ${attempt}): the run makes no progress until a worker can process it (see the run's history for the error)`;
  }

  /** Waits for a study and returns its trials, best trial and leaderboard. */
  async studyResult(studyId: string): Promise<StudyResult> {
    return this.temporal.workflow.getHandle<typeof tuningStudy>(studyId).result();
  }

  /** Waits for a pipeline run and returns its result (throws if the run failed). */
  async result(workflowId: string): Promise<PipelineResult> {
    return this.temporal.workflow.getHandle(workflowId).result() as Promise<PipelineResult>;
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

/** The innermost meaningful message of a (Temporal) error chain. */
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
function isLoadedSpec(spec: LoadedSpec | PipelineSpecInput): spec is LoadedSpec {
  return typeof spec === 'object' && spec !== null && 'specPath' in spec && 'resolvedSource' in spec && 'spec' in spec;
}

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
