import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { MlcycleError } from '../errors';
import type { LoadedSpec } from '../spec/pipeline-spec';
import { KIND, MODEL } from '../../workflows/search-attributes';
import type { MonitorCheckInput } from '../../workflows/monitor';
import type { PipelineInput } from '../../workflows/pipeline-types';

export const scheduleIdFor = (model: string) => `monitor-${model}`;

/**
 * A monitor is a Temporal Schedule per model: every `monitor.every` it starts a `monitorCheck`
 * workflow. Overlapping checks are skipped, so one slow check never piles up behind another.
 */
export async function startMonitor(client: Client, loaded: LoadedSpec, pipelineInput: PipelineInput): Promise<{ scheduleId: string }> {
  const { spec } = loaded;
  if (!spec.monitor) throw new MlcycleError('SPEC_INVALID', `${loaded.specPath}: monitor: the spec has no monitor section`);
  const scheduleId = scheduleIdFor(spec.name);
  const args: MonitorCheckInput = { model: spec.name, monitor: spec.monitor, retrain: pipelineInput };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: spec.monitor.every }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      action: {
        type: 'startWorkflow',
        workflowType: 'monitorCheck',
        workflowId: `${spec.name}-check`,
        taskQueue: pipelineInput.queues.cpu,
        args: [args],
        typedSearchAttributes: [
          { key: MODEL, value: spec.name },
          { key: KIND, value: 'monitor-check' },
        ],
      },
      memo: { specPath: path.basename(loaded.specPath) },
    });
  } catch (err) {
    if ((err as Error).name === 'ScheduleAlreadyRunning') {
      throw new MlcycleError('USAGE', `a monitor for "${spec.name}" already exists (schedule ${scheduleId}); use mlcycle monitor status|pause|resume|trigger ${spec.name}`);
    }
    throw err;
  }
  return { scheduleId };
}

export function scheduleHandle(client: Client, model: string) {
  return client.schedule.getHandle(scheduleIdFor(model));
}

export async function describeMonitor(client: Client, model: string) {
  try {
    const d = await scheduleHandle(client, model).describe();
    return {
      model,
      scheduleId: d.scheduleId,
      paused: d.state.paused,
      note: d.state.note,
      recentChecks: d.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
      nextChecks: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new MlcycleError('NOT_FOUND', `no monitor for model "${model}" (start one with mlcycle monitor start ${model} --spec <file>)`);
    throw err;
  }
}

export async function withMonitor(client: Client, model: string, fn: (h: ReturnType<typeof scheduleHandle>) => Promise<void>): Promise<void> {
  try {
    await fn(scheduleHandle(client, model));
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new MlcycleError('NOT_FOUND', `no monitor for model "${model}"`);
    throw err;
  }
}

export const newCheckSuffix = () => randomUUID().slice(0, 8);
