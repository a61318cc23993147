import type { WorkerOptions } from '@temporalio/worker';
import { mlcycleActivityInterceptors } from './activity-telemetry';
import { workerTracing } from './tracing';

export interface WorkerObservability {
  /** The worker needs the workflow bundle built with the tracing interceptors. */
  tracing: boolean;
  interceptors: NonNullable<WorkerOptions['interceptors']>;
  sinks: WorkerOptions['sinks'];
}

/** Interceptors and sinks every mlcycle worker gets: its own metrics and logs, tracing when configured. */
export function workerObservability(): WorkerObservability {
  const tracing = workerTracing();
  return {
    tracing: tracing !== undefined,
    // Tracing first: its span then also covers what mlcycle's interceptor does.
    interceptors: { activity: [...(tracing?.activityInterceptors ?? []), mlcycleActivityInterceptors] },
    sinks: tracing?.sinks,
  };
}
