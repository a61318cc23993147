import type { MlcycleClient } from '../../src/client/mlcycle-client';
import { STAGE } from '../../workflows/search-attributes';

/** The pipeline's stages in order; `done` and `failed:*` come after all of them. */
export const STAGES = ['ingest', 'validate', 'train', 'evaluate', 'register', 'approval', 'deploy'] as const;
export type Stage = (typeof STAGES)[number];

/** Stages that are one activity on a worker: a kill there interrupts that activity. */
export const ACTIVITY_OF: Partial<Record<Stage, string>> = {
  ingest: 'ingestDataset',
  validate: 'validateDataset',
  train: 'trainModel',
  evaluate: 'evaluateModel',
  register: 'registerModel',
};

export function stageIndex(stage: string | undefined): number {
  if (stage === undefined || stage === 'starting') return -1;
  const i = STAGES.indexOf(stage as Stage);
  return i === -1 ? STAGES.length : i;
}

export interface RunProbe {
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  execution: string;
  /** The MlcycleStage search attribute: set when a step starts, so it is the stage in progress. */
  stage: string | undefined;
  activities: Array<{ type: string; started: boolean; attempt: number }>;
  children: string[];
}

// temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED: a worker holds the task.
const ACTIVITY_STARTED = 2;

/**
 * The run as the server records it, without a query. A query needs a live worker, and these
 * tests freeze and kill workers; describe answers from the server alone, so it also tells what
 * a frozen worker was holding.
 */
export async function probeRun(client: MlcycleClient, workflowId: string): Promise<RunProbe> {
  const d = await client.temporal.workflow.getHandle(workflowId).describe();
  return {
    execution: d.status.name,
    stage: d.typedSearchAttributes.get(STAGE),
    activities: (d.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name ?? '?',
      started: Number(a.state) === ACTIVITY_STARTED,
      attempt: a.attempt ?? 1,
    })),
    children: (d.raw.pendingChildren ?? []).map((c) => c.workflowTypeName ?? '?'),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it yields a value; transient errors (a restarting server) count as "not yet". */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}
