import type { StepState, StepStatus } from './pipeline-types';

/** Keeps the per-step status the `status` query reports; pure bookkeeping, safe in workflow code. */
export class StepTracker {
  readonly steps: StepStatus[];

  constructor(names: readonly string[]) {
    this.steps = names.map((name) => ({ name, state: 'pending', attempts: 0, cached: false }));
  }

  get(name: string): StepStatus {
    const step = this.steps.find((s) => s.name === name);
    if (!step) throw new Error(`unknown step ${name}`);
    return step;
  }

  set(name: string, state: StepState, patch: Partial<Omit<StepStatus, 'name' | 'state'>> = {}): void {
    Object.assign(this.get(name), patch, { state });
  }

  /** The stage shown in the Web UI: the first step not yet done, or "done". */
  currentStage(): string {
    const active = this.steps.find((s) => s.state === 'running' || s.state === 'failed' || s.state === 'pending');
    return active?.name ?? 'done';
  }
}
