/**
 * Shared between the benchmark driver and its workflows (workflow-safe: no Node imports).
 */
export const BENCH_TASK_QUEUE = 'mlcycle-bench-orchestration';

/** What the no-op activity returns: the shape StepRunner expects of every step's result. */
export interface NoopResult {
  cached: false;
  attempt: number;
}

/** Step names for an n-step run. */
export function stepNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `step-${String(i).padStart(3, '0')}`);
}
