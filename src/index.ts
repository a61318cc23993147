/**
 * mlcycle's public client API: `import { MlcycleClient } from 'mlcycle'`.
 *
 * Start pipeline runs and tuning studies from specs, follow them, cast signed votes on approval
 * gates, steer the model registry and drift monitors. The `mlcycle` CLI is a thin layer over the
 * same client, so everything it prints with `--json` has a type here.
 *
 * @packageDocumentation
 */

export {
  /** The client: connect, run, status, waitForRun, approve/reject, tune, models.*, monitor.*. */
  MlcycleClient,
  /** The innermost meaningful message of a (Temporal) error chain, as the CLI prints it. */
  rootMessage,
  /** Where and how to connect (address, namespace, queue prefix, payload keys, registry). */
  type ClientOptions,
  /** A spec as a file path, a loaded spec or a spec object. */
  type SpecInput,
  /** Options of `run`: cache, workflow id, code version, base folder of a spec object. */
  type StartOptions,
  /** Options of `tune`. */
  type StudyOptions,
  /** An approver's vote: name, signing key (object or file), comment. */
  type VoteOptions,
  /** A decision as the gate's `decide` update receives it, before signing. */
  type DecisionRequest,
  /** The gate's answer to an accepted vote. */
  type DecideOutcome,
} from './client/mlcycle-client';
export type {
  /** How `waitForRun` polls: progress callback, interval, early stop. */
  WaitOptions,
} from './client/wait-for-run';
export {
  /** The model registry: list, show, promote, roll back (`client.models` moves aliases through a worker; a catalog of its own writes from this process). */
  ModelCatalog,
  /** One model in `models.list()`. */
  type ModelSummary,
  /** A model's versions and aliases from `models.show()`. */
  type ModelDetails,
  /** Which alias to move, by whom and why. */
  type AliasChange,
  /** What a promotion did. */
  type PromoteOutcome,
  /** What a rollback did. */
  type RollbackOutcome,
} from './client/model-catalog';
export {
  /** Who carries out a catalog's alias moves: `workerAliasMover(client.temporal, cpuQueue)` hands them to a cpu worker. */
  type AliasMover,
  workerAliasMover,
} from './client/alias-moves';
export {
  /** Drift monitors, one Temporal Schedule per model. */
  Monitors,
  /** A monitor's schedule and its latest check. */
  type MonitorStatus,
} from './client/monitors';

// Specs: the schema is the type (z.infer for the validated spec, z.input for what callers write).
export {
  /** The zod schema of a pipeline spec (`apiVersion: mlcycle/v1`). */
  PipelineSpecSchema,
  /** Reads and validates a YAML/JSON spec file; SPEC_INVALID lists every bad field by path. */
  loadPipelineSpec,
  /** Validates an already-parsed spec document. */
  parsePipelineSpec,
  /** A validated spec, defaults applied (`z.infer` of PipelineSpecSchema). */
  type PipelineSpec,
  /** A spec as callers write it, before defaults (`z.input` of PipelineSpecSchema). */
  type PipelineSpecInput,
  /** A spec with the file it came from and its data source resolved. */
  type LoadedSpec,
  /** The spec's `data:` section. */
  type DataSpec,
  /** The spec's `approval:` section. */
  type ApprovalSpec,
  /** The spec's `deploy:` section. */
  type DeploySpec,
  /** The spec's `monitor:` section. */
  type MonitorSpec,
  /** A metric name the spec accepts. */
  type MetricName,
  /** binary, multiclass or regression. */
  type TaskName,
} from './spec/pipeline-spec';

// Results: `status()` is the JSON of `mlcycle status --json` and has a schema; the workflows'
// results are typed by their workflow modules.
export {
  /** The zod schema of a run's status (`mlcycle status --json`). */
  RunStatusSchema,
  /** The zod schema of one step in a run's status. */
  StepStatusSchema,
  /** A run's status (`z.infer` of RunStatusSchema). */
  type RunStatus,
} from './client/run-status';
export type {
  /** What a finished pipeline run returns (`result()`). */
  PipelineResult,
  /** One step of a run: state, attempts, cached, summary. */
  StepStatus,
} from '../workflows/pipeline-types';
export type {
  /** What a finished tuning study returns (`studyResult()`). */
  StudyResult,
} from '../workflows/tuning-study';
export type {
  /** What one monitor check returns: verdict, alert, retrain. */
  MonitorCheckResult,
} from '../workflows/monitor';
export type {
  /** An approval gate as its query returns it. */
  PendingGate,
  /** One recorded vote. */
  Vote,
  /** Pending, Approved, Rejected or TimedOut. */
  GateStatus,
} from '../workflows/approval-definitions';
export type {
  /** A registered model version: metrics, lineage, reports. */
  ModelVersion,
  /** Where a version came from: data, code, trainer, params, run. */
  Lineage,
  /** One entry of a model's audit log. */
  AuditEntry,
} from './registry/model-registry';
export type {
  /** Where the artifact store and registry live (bucket, prefix, endpoint, credentials). */
  S3Settings,
} from './config/env';
export type {
  /** Payload encryption keys (see README, Encryption). */
  Keyring,
} from './codec/keyring';

export {
  /** Every failure mlcycle reports on purpose: a stable `code` to branch on. */
  MlcycleError,
  /** Narrows an unknown error to MlcycleError. */
  isMlcycleError,
  /** The codes an MlcycleError carries. */
  type ErrorCode,
} from './errors';
