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
  type ClientOptions,
  type SpecInput,
  type StartOptions,
  type StudyOptions,
  type VoteOptions,
  type DecisionRequest,
  type DecideOutcome,
} from './client/mlcycle-client';
export type { WaitOptions } from './client/wait-for-run';
export { ModelCatalog, type ModelSummary, type ModelDetails, type AliasChange, type PromoteOutcome } from './client/model-catalog';
export { Monitors, type MonitorStatus } from './client/monitors';

// Specs: the schema is the type (z.infer for the validated spec, z.input for what callers write).
export {
  /** The zod schema of a pipeline spec (`apiVersion: mlcycle/v1`). */
  PipelineSpecSchema,
  /** Reads and validates a YAML/JSON spec file; SPEC_INVALID lists every bad field by path. */
  loadPipelineSpec,
  /** Validates an already-parsed spec document. */
  parsePipelineSpec,
  type PipelineSpec,
  type PipelineSpecInput,
  type LoadedSpec,
  type DataSpec,
  type ApprovalSpec,
  type DeploySpec,
  type MonitorSpec,
  type MetricName,
  type TaskName,
} from './spec/pipeline-spec';

// Results: `status()` is the JSON of `mlcycle status --json` and has a schema; the workflows'
// results are typed by their workflow modules.
export {
  /** The zod schema of a run's status (`mlcycle status --json`). */
  RunStatusSchema,
  /** The zod schema of one step in a run's status. */
  StepStatusSchema,
  type RunStatus,
} from './client/run-status';
export type { PipelineResult, StepStatus } from '../workflows/pipeline-types';
export type { StudyResult } from '../workflows/tuning-study';
export type { MonitorCheckResult } from '../workflows/monitor';
export type { PendingGate, Vote, GateStatus } from '../workflows/approval-definitions';
export type { ModelVersion, Lineage, AuditEntry } from './registry/model-registry';
export type { S3Settings } from './config/env';
export type { Keyring } from './codec/keyring';

export {
  /** Every failure mlcycle reports on purpose: a stable `code` to branch on. */
  MlcycleError,
  /** Narrows an unknown error to MlcycleError. */
  isMlcycleError,
  type ErrorCode,
} from './errors';
