import type { Client } from '@temporalio/client';
import type { LoadedSpec } from '../spec/pipeline-spec';
import type { MonitorCheckResult } from '../../workflows/monitor';
import type { PipelineInput } from '../../workflows/pipeline-types';
import { MlcycleError } from '../errors';
import type { SpecInput } from './mlcycle-client';
import { describeMonitor, startMonitor, withMonitor } from './monitor-schedules';

/** A monitor's schedule as `monitor.status()` (and `mlcycle monitor status --json`) reports it. */
export interface MonitorStatus {
  model: string;
  scheduleId: string;
  paused: boolean;
  note?: string | undefined;
  /** Checks the schedule started, oldest first. */
  recentChecks: Array<{ at: string; workflowId: string }>;
  /** The next (up to three) check times, ISO 8601. */
  nextChecks: string[];
  /** The result of the latest check, or `{ error }` when it failed; absent before the first check. */
  latest?: MonitorCheckResult | { error: string };
}

/**
 * Drift monitors: one Temporal Schedule per model that starts a `monitorCheck` workflow every
 * `monitor.every` of the spec (and a retraining run when the spec asks for it).
 */
export class Monitors {
  /** @internal built by MlcycleClient. */
  constructor(
    private readonly temporal: Client,
    private readonly pipelineInput: (loaded: LoadedSpec) => PipelineInput,
    private readonly loadSpec: (spec: SpecInput) => Promise<LoadedSpec>,
  ) {}

  /**
   * Starts monitoring the model of a spec with a `monitor:` section (retrains run that spec).
   * With `model`, USAGE unless the spec is for that model; USAGE when a monitor already exists.
   */
  async start(spec: SpecInput, opts: { model?: string } = {}): Promise<{ scheduleId: string; every: string }> {
    const loaded = await this.loadSpec(spec);
    if (opts.model !== undefined && loaded.spec.name !== opts.model) {
      throw new MlcycleError('USAGE', `<model>: the spec ${typeof spec === 'string' ? spec : loaded.specPath} is for model "${loaded.spec.name}", not "${opts.model}"`);
    }
    const { scheduleId } = await startMonitor(this.temporal, loaded, this.pipelineInput(loaded));
    return { scheduleId, every: loaded.spec.monitor?.every ?? '' };
  }

  /** Pauses the model's monitor; the note is kept on the schedule. */
  pause(model: string, note = 'paused through the client API'): Promise<void> {
    return withMonitor(this.temporal, model, (h) => h.pause(note));
  }

  /** Resumes a paused monitor. */
  resume(model: string, note = 'resumed through the client API'): Promise<void> {
    return withMonitor(this.temporal, model, (h) => h.unpause(note));
  }

  /** Starts a check now (skipped if one is running). */
  trigger(model: string): Promise<void> {
    return withMonitor(this.temporal, model, (h) => h.trigger());
  }

  /** The schedule's state and the latest check's result; NOT_FOUND when the model has no monitor. */
  async status(model: string): Promise<MonitorStatus> {
    const d = await describeMonitor(this.temporal, model);
    const last = d.recentChecks.at(-1);
    if (!last) return d;
    const latest = await this.temporal.workflow
      .getHandle(last.workflowId)
      .result()
      .then((r) => r as MonitorCheckResult)
      .catch((err: Error) => ({ error: err.message }));
    return { ...d, latest };
  }
}
