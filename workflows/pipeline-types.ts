/**
 * Shapes that cross the workflow boundary. Only small references and summaries live here: every
 * dataset, model or report travels as an s3:// URI, never as bytes in workflow history.
 */
import type { Lineage } from '../src/registry/model-registry';
import type { MonitorSpec, PipelineSpec } from '../src/spec/pipeline-spec';
import type { BuiltinTrainerName } from '../src/training/trainer-contract';

export type StepState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface StepStatus {
  name: string;
  state: StepState;
  attempts: number;
  cached: boolean;
  resumedFrom?: number;
  progress?: { done: number; total: number };
  summary?: string;
}

export interface PipelineInput {
  spec: PipelineSpec;
  /** The data source with file:// made absolute (file:// sources must be readable by the workers). */
  source: string;
  specPath?: string;
  /** Folder of the spec file, where a `command` trainer runs. */
  specDir?: string;
  /** validation.reference with file:// made absolute. */
  referenceSource?: string;
  codeVersion: string;
  cache: boolean;
  /** Task queue names; default cpu and gpu (a prefix lets several deployments share a namespace). */
  queues: { cpu: string; gpu: string };
}

export interface DatasetRef {
  uri: string;
  sha256: string;
  size: number;
  format: 'csv' | 'parquet' | 'jsonl';
  /**
   * The canonical Parquet snapshot ingest wrote from the source (typed by the schema, source row
   * order): what every later step reads column-wise. Absent only for datasets ingested before it.
   */
  snapshot?: { uri: string; sha256: string; size: number };
}

/** Every stage's result says whether it came from the step cache and which attempt produced it. */
export interface StepOutcome {
  cached: boolean;
  attempt: number;
}

export interface IngestResult extends StepOutcome {
  dataset: DatasetRef;
  manifestUri: string;
  rowCount: number;
  /** With `data.schema: infer`: the schema ingest inferred (later steps use it). */
  schema?: Record<string, import('../src/spec/pipeline-spec').ColumnRule>;
}

export interface ValidateResult extends StepOutcome {
  passed: boolean;
  /** One line per failing check, naming the column and rule. */
  failures: string;
  warnings: number;
  /** Columns of the data outside the schema (ignored as features, or failing with extraColumns: fail). */
  extraColumns?: string[];
  /** Rows without a target value: left out of training and evaluation. */
  droppedMissingTarget?: number;
  reportUri: string;
  htmlUri: string;
}

export interface TrainResult extends StepOutcome {
  modelUri: string;
  /** JSON of the per-epoch training curve. */
  historyUri: string;
  /** Extra files a `command` trainer wrote (output folder), by relative path. */
  outputs?: Record<string, string>;
  epochs: number;
  /** Epoch of the checkpoint this attempt resumed from (0 = from scratch). */
  resumedFrom: number;
  finalLoss?: number;
  /** Metrics a `command` trainer printed: training metrics, kept in the evaluation report, never gated on. */
  reportedMetrics?: Record<string, number>;
  /** Rows (and classes) per split the built-in trainer saw: train fits, validation scores curves. */
  split?: SplitSummary;
  /** Seconds spent loading the snapshot (split and encoding included) and fitting. */
  timings?: { loadSeconds: number; fitSeconds: number };
  /** Built-in trainers: the task trained (declared or inferred). */
  task?: 'binary' | 'multiclass' | 'regression';
  /** Built-in trainers: every param with the defaults actually used (what lineage records). */
  resolvedParams?: Record<string, unknown>;
  /** Why training stopped: converged, early-stopping, max-iterations. */
  stopReason?: string;
  /** Linear model: whether L-BFGS met its tolerance. */
  converged?: boolean;
  /** Rows of each part of the data the model was fitted and checked on. */
  splitSizes?: { train: number; validation: number; test: number };
  /** Binary: the decision threshold stored with the model. */
  threshold?: number;
}

export interface SplitSummary {
  train: number;
  validation: number;
  test: number;
  droppedMissingTarget: number;
  classes?: Record<'train' | 'validation' | 'test', Record<string, number>>;
}

export interface EvaluateResult extends StepOutcome {
  metrics: Record<string, number>;
  passed: boolean;
  /** Human-readable reasons the gate failed (threshold misses, champion comparison). */
  failures: string[];
  champion?: { version: number; metrics: Record<string, number>; better: boolean; message: string };
  /** Rows (and classes) per split; the metrics are the test rows'. */
  split?: SplitSummary;
  reportUri: string;
  htmlUri: string;
  /** Command trainers: how the held-out rows were scored (from the ONNX model, or the trainer's predictions). */
  scoredFrom?: 'onnx' | 'trainer-predictions';
}

export interface RegisterResult extends StepOutcome {
  name: string;
  version: number;
  created: boolean;
}

export interface PipelineProgress {
  stage: string;
  steps: StepStatus[];
  model?: { name: string; version: number };
  artifacts: Record<string, string>;
}

export interface PipelineResult extends PipelineProgress {
  /** rejected: the approval gate said no (or timed out with onTimeout: reject); nothing was promoted. */
  outcome: 'completed' | 'rejected' | 'rolled_back';
}

// ---------------------------------------------------------------------------------------------
// Activity inputs and results the workflows name (the activities import them from here, so
// neither side imports the other's modules for a type).

/** The registerModel activity's input (the registry's own input is model-registry.ts's RegisterInput). */
export interface RegisterModelInput {
  name: string;
  modelUri: string;
  metrics: Record<string, number>;
  lineage: Lineage;
  reports: Record<string, string>;
  /** With caching on, the same model bytes (same content-addressed URI) map to the version they already have. */
  cache: boolean;
}

export interface DriftCheckInput {
  model: string;
  monitor: MonitorSpec;
  data: PipelineSpec['data'];
  checkId: string;
  /** Workflow time of the check: the window ends here. */
  nowIso: string;
}

export interface DriftCheckResult {
  verdict: 'drift' | 'no_drift' | 'insufficient_data' | 'no_model';
  version?: number;
  samples: number;
  drifted: string[];
  missing: string[];
  predictionShift?: { method: string; value: number; drifted: boolean };
  labelShift?: { reference: number; current: number; pValue: number; drifted: boolean };
  qualityBreach?: boolean;
  reportUri?: string;
  htmlUri?: string;
}

export interface TrialSegmentInput {
  studyId: string;
  trialId: number;
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  /** The study's base trainer; a sampled `trainer` value overrides it. */
  trainer: BuiltinTrainerName;
  /** Base params (train.params) overlaid with the trial's sampled values. */
  params: Record<string, number | string | boolean>;
  seed: number;
  metric: string;
  /** Train until this epoch (a rung, or the trial's last epoch). */
  toEpoch: number;
  /** train.task (inferred from the target when absent). */
  task?: 'binary' | 'multiclass' | 'regression';
  /** Checkpoint of the previous segment (null: start from scratch). */
  checkpointUri: string | null;
}

export interface TrialSegmentResult {
  /** The params the trainer actually took (the trial's values that apply to its trainer). */
  usedParams: Record<string, number | string | boolean>;
  epoch: number;
  total: number;
  metric: number;
  checkpointUri: string;
  attempt: number;
}
