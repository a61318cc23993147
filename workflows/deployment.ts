import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import { CancellationScope, defineQuery, executeChild, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import { refuseUndecodableInput } from './input-guard';
import { installationPrefix } from './installation-prefix';
import { durationMs } from '../src/spec/durations';
import type { Activities } from '../activities';
import type { GuardrailReading } from '../src/deploy/guardrails';
import type { DeploySpec } from '../src/spec/pipeline-spec';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors';

export interface DeploymentInput {
  model: string;
  version: number;
  deploy: DeploySpec;
  queue: string;
  /** Identifies the decision this deployment carries out (exactly-once alias move). */
  decisionId: string;
}

export interface DeploymentResult {
  outcome: 'promoted' | 'rolled_back';
  strategy: DeploySpec['strategy'];
  serving: number | null;
  reason: string;
  readings: GuardrailReading[];
}

export const deploymentStatusQuery = defineQuery<{ phase: string; readings: GuardrailReading[] }>('deploymentStatus');


/**
 * Deployment as a compensating saga. `direct` moves the alias; `canary` routes a share of traffic to
 * the new version for the bake time (a durable timer), reading the guardrails from the service's
 * metrics as it bakes: a breach rolls back at once with the reason recorded, a clean bake promotes.
 * Any failure after the canary started restores the previous routing, so the previous version
 * keeps serving.
 */
export async function deploymentWorkflow(input: DeploymentInput): Promise<DeploymentResult> {
  refuseUndecodableInput(input);
  const nonRetryableErrorTypes = NON_RETRYABLE_ERROR_TYPES;
  // Registry and routing writes ride out a storage outage of about two minutes, like the
  // pipeline's steps; a rollback that gave up after 15 s would leave the canary routed.
  const acts = proxyActivities<Activities>({
    taskQueue: input.queue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 15, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes },
  });
  // A service whose metrics stay dark for ~15 s fails the bake, which rolls back: waiting longer
  // would keep a possibly broken canary serving.
  const probe = proxyActivities<Activities>({
    taskQueue: input.queue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, nonRetryableErrorTypes },
  });
  const { model, version, deploy } = input;
  const readings: GuardrailReading[] = [];
  let phase = 'starting';
  setHandler(deploymentStatusQuery, () => ({ phase, readings }));

  const promoteDirect = async (reason: string): Promise<DeploymentResult> => {
    phase = 'promoting';
    await acts.promoteModel({ model, version, alias: deploy.alias, actor: 'deployment', reason, idempotencyKey: `${input.decisionId}/promote/${deploy.alias}` });
    phase = 'done';
    return { outcome: 'promoted', strategy: deploy.strategy, serving: version, reason, readings };
  };
  if (deploy.strategy === 'direct' || !deploy.canary) return promoteDirect('direct deployment');

  const canary = deploy.canary;
  phase = 'canary';
  const { stable } = await acts.startCanary({ model, alias: deploy.alias, version, percent: canary.percent, reason: `canary ${canary.percent}% for ${canary.bake}` });
  // Nothing serves this alias yet (first deployment) or it already is this version: no one to compare with.
  if (stable === null || stable === version) return promoteDirect(stable === null ? 'first deployment: nothing to canary against' : 'already serving');

  const finish = (outcome: 'promote' | 'rollback', reason: string) =>
    acts.finishCanary({ model, alias: deploy.alias, version, stable, outcome, reason, idempotencyKey: `${input.decisionId}/promote/${deploy.alias}` });
  try {
    const bakeMs = durationMs(canary.bake);
    const checkEvery = Math.max(1000, Math.min(30_000, Math.floor(bakeMs / 10)));
    for (let waited = 0; waited < bakeMs; ) {
      const step = Math.min(checkEvery, bakeMs - waited);
      await sleep(step);
      waited += step;
      const reading = await probe.checkGuardrails({ serviceUrl: canary.serviceUrl, version, limits: { ...canary.rollbackIf, minRequests: canary.minRequests } });
      readings.push(reading);
      if (reading.breached) {
        phase = 'rolling back';
        const reason = `guardrail breach: ${reading.reason}`;
        const { serving } = await finish('rollback', reason);
        phase = 'done';
        return { outcome: 'rolled_back', strategy: 'canary', serving, reason, readings };
      }
    }
    phase = 'promoting';
    const judged = readings.filter((r) => r.judged).length;
    const reason = `canary baked ${canary.bake} clean (${judged} judged readings)`;
    const { serving } = await finish('promote', reason);
    phase = 'done';
    return { outcome: 'promoted', strategy: 'canary', serving, reason, readings };
  } catch (err) {
    // Compensation must run even when the deployment itself was cancelled.
    phase = 'compensating';
    await CancellationScope.nonCancellable(() => finish('rollback', `deployment failed: ${(err as Error).message}`));
    throw err;
  }
}

/**
 * The one workflow id a deployment of (model, alias) runs under: Temporal refuses a second open
 * one. Installations sharing a namespace through a queue prefix (MLCYCLE_QUEUE_PREFIX) get their
 * own: `<prefix>deploy-<model>-<alias>`, derived from the cpu queue name `<prefix>cpu`.
 */
export function deploymentOwnerId(model: string, alias: string, cpuQueue = 'cpu'): string {
  return `${installationPrefix(cpuQueue)}deploy-${model}-${alias}`;
}

/**
 * Runs a deployment as the single owner of its (model, alias). While another pipeline's deployment
 * of the same alias is open (a canary baking, say), starting this one is refused by Temporal
 * (same workflow id), and this waits its turn with a durable timer and tries again. So at most one
 * deployment is in charge of an alias at any time, and each one starts from the routing its
 * predecessor left.
 */
export async function runDeploymentAsOwner(
  input: DeploymentInput,
  opts: { searchAttributes: SearchAttributePair[]; onWait?: (owner: string) => void },
): Promise<DeploymentResult> {
  const workflowId = deploymentOwnerId(input.model, input.deploy.alias, input.queue);
  let delayMs = 1000;
  for (;;) {
    try {
      return await executeChild(deploymentWorkflow, {
        workflowId,
        taskQueue: input.queue,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: opts.searchAttributes,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      opts.onWait?.(workflowId);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 15_000);
    }
  }
}
