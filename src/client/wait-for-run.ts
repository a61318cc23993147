import type { MlcycleClient } from './mlcycle-client';
import type { RunStatus } from './run-status';

/** How `MlcycleClient.waitForRun` polls. */
export interface WaitOptions {
  /** Called with every status read (e.g. to draw progress). */
  onStatus?: (status: RunStatus) => void;
  /** Poll interval, default 500 ms. */
  intervalMs?: number;
  /** Stop early when this holds, e.g. `(s) => s.status === 'awaiting_approval'`. */
  until?: (status: RunStatus) => boolean;
}

/** Polls a run until it leaves running/awaiting_approval, reporting each status to `onStatus`. */
export async function waitForRun(
  client: MlcycleClient,
  workflowId: string,
  progress?: { update(status: RunStatus): void },
  intervalMs = 500,
  /** Stop early when this holds (e.g. the run reached its approval gate). */
  until?: (status: RunStatus) => boolean,
): Promise<RunStatus> {
  for (;;) {
    const status = await client.status(workflowId);
    progress?.update(status);
    if (status.status !== 'running' && status.status !== 'awaiting_approval') return status;
    if (until?.(status)) return status;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
