import { defineQuery, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PipelineInput, PipelineProgress, PipelineResult } from './pipeline-types';
import { STAGE } from './search-attributes';
import { StepTracker } from './step-tracker';

export const statusQuery = defineQuery<PipelineProgress>('status');

const STEPS = ['ingest'] as const;

const NON_RETRYABLE = ['DATA_INVALID', 'SPEC_INVALID', 'NOT_FOUND', 'VALIDATION_FAILED'];

/**
 * The training pipeline. Orchestration only: every stage is an activity; the workflow keeps the
 * step table that `mlcycle status` reads and the stage search attribute the Web UI filters on.
 */
export async function trainingPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { ingestDataset } = proxyActivities<Activities>({
    taskQueue: input.queues.cpu,
    startToCloseTimeout: '30m',
    heartbeatTimeout: '60s',
    retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: NON_RETRYABLE },
  });
  const steps = new StepTracker(STEPS);
  const artifacts: Record<string, string> = {};
  const progress = (): PipelineProgress => ({ stage: steps.currentStage(), steps: steps.steps, artifacts });
  setHandler(statusQuery, progress);

  const enter = (name: (typeof STEPS)[number]) => {
    steps.set(name, 'running');
    upsertSearchAttributes([{ key: STAGE, value: name }]);
  };

  enter('ingest');
  try {
    const ingest = await ingestDataset({ source: input.source, format: input.spec.data.format });
    artifacts.dataset = ingest.dataset.uri;
    steps.set('ingest', 'completed', {
      attempts: ingest.attempt,
      cached: ingest.cached,
      summary: `${ingest.dataset.size} bytes, sha256 ${ingest.dataset.sha256.slice(0, 12)}`,
    });
  } catch (err) {
    steps.set('ingest', 'failed');
    throw err;
  }

  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return { outcome: 'completed', ...progress() };
}
