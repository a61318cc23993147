/**
 * Shapes that cross the workflow boundary. Only small references and summaries live here: every
 * dataset, model or report travels as an s3:// URI, never as bytes in workflow history.
 */
import type { PipelineSpec } from '../src/spec/pipeline-spec';

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
}

export interface IngestResult {
  dataset: DatasetRef;
  cached: boolean;
  attempt: number;
}

export interface PipelineProgress {
  stage: string;
  steps: StepStatus[];
  model?: { name: string; version: number };
  artifacts: Record<string, string>;
}

export interface PipelineResult extends PipelineProgress {
  outcome: 'completed';
}
