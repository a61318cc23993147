import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, defineQuery, proxyActivities, setHandler, startChild, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { refuseUndecodableInput } from './input-guard';
import type { Activities } from '../activities';
import type { MonitorSpec } from '../src/spec/pipeline-spec';
import type { DriftCheckResult, PipelineInput } from './pipeline-types';
import { KIND, MODEL, STAGE } from './search-attributes';
import { trainingPipeline } from './training-pipeline';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors';

export interface MonitorCheckInput {
  model: string;
  monitor: MonitorSpec;
  /** The training pipeline to start when drift is found (the spec the monitor was started with). */
  retrain: PipelineInput;
}

export interface MonitorCheckResult extends DriftCheckResult {
  alerted: boolean;
  retrain: { started: boolean; workflowId?: string; reason: string };
}

export const monitorCheckQuery = defineQuery<Partial<MonitorCheckResult>>('monitorCheck');

/**
 * One scheduled monitoring check: drift (and label/prediction shift) of the serving window against
 * the production model's training data, a report, an alert without duplicates, and continuous
 * training within the cooldown, never two retrains of a model at once.
 */
export async function monitorCheck(input: MonitorCheckInput): Promise<MonitorCheckResult> {
  refuseUndecodableInput(input);
  const info = workflowInfo();
  const acts = proxyActivities<Activities>({
    taskQueue: input.retrain.queues.cpu,
    startToCloseTimeout: '30m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  const notifyActs = proxyActivities<Activities>({
    taskQueue: input.retrain.queues.cpu,
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 8, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m' },
  });
  let state: Partial<MonitorCheckResult> = {};
  setHandler(monitorCheckQuery, () => state);

  const check = await acts.checkDrift({ model: input.model, monitor: input.monitor, data: input.retrain.spec.data, checkId: info.workflowId, nowIso: new Date().toISOString() });
  state = { ...check };
  upsertSearchAttributes([{ key: STAGE, value: `verdict:${check.verdict}` }]);
  upsertMemo({ verdict: check.verdict, report: check.htmlUri, drifted: check.drifted });

  const breach = check.verdict === 'drift' || check.qualityBreach === true;
  let alerted = false;
  if (breach && input.monitor.notify) {
    // One id per check: a retried delivery is the same alert, not a second one.
    await notifyActs.notify({ ...input.monitor.notify, id: `${info.workflowId}/alert`, event: check.verdict === 'drift' ? 'monitor.drift' : 'monitor.quality', payload: { model: input.model, ...check } });
    alerted = true;
  }

  let retrain: MonitorCheckResult['retrain'] = { started: false, reason: breach ? 'retrain on drift disabled' : `no retrain: ${check.verdict}` };
  if (breach && input.monitor.retrain.onDrift) {
    const gate = await acts.claimRetrain({ model: input.model, cooldown: input.monitor.retrain.cooldown, checkId: info.workflowId, nowIso: new Date().toISOString() });
    if (!gate.allowed) {
      retrain = { started: false, reason: gate.reason };
    } else {
      const workflowId = `${input.model}-retrain`;
      try {
        // A fixed id: Temporal refuses a second run with it while one is open, so two checks never
        // retrain the same model at once; abandoned so the retrain outlives this check.
        await startChild(trainingPipeline, {
          workflowId,
          taskQueue: input.retrain.queues.cpu,
          args: [{ ...input.retrain, cache: false }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: [
            { key: MODEL, value: input.model },
            { key: KIND, value: 'training-pipeline' },
          ],
        });
        retrain = { started: true, workflowId, reason: `drift in ${check.drifted.join(', ') || 'predictions'}` };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        retrain = { started: false, workflowId, reason: 'a retrain of this model is already running' };
      }
      await acts.recordAudit({ model: input.model, actor: 'monitor', action: retrain.started ? 'retrain-started' : 'retrain-skipped', detail: { check: info.workflowId, reason: retrain.reason } });
    }
  }
  state = { ...check, alerted, retrain };
  return { ...check, alerted, retrain };
}
