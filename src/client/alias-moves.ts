import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { MlcycleError, NON_RETRYABLE_CODES, isMlcycleError, type ErrorCode } from '../errors';
import { aliasMoveId, type AliasMoveInput, type PromoteAliasResult } from '../../workflows/alias-move';
import { KIND, MODEL } from '../../workflows/search-attributes';

/** Who moves an alias on the caller's behalf, and how (see ModelCatalog). */
export interface AliasMover {
  promote(input: Omit<AliasMoveInput, 'queue'> & { version: number }): Promise<PromoteAliasResult & { unreadable?: string }>;
  rollback(input: Omit<AliasMoveInput, 'queue'>): Promise<{ from: number; to: number } | { from: null; to: null; unreadable: string }>;
}

/** The workflows (workflows/alias-move.ts) by the names the worker's bundle registers them under, with their results. */
interface MoveResults {
  promoteAliasWorkflow: PromoteAliasResult;
  rollbackAliasWorkflow: { from: number; to: number };
}

/** Codes a worker's alias move fails with that the caller gets as they are. */
const PASSED_THROUGH: ReadonlySet<string> = new Set<ErrorCode>([...NON_RETRYABLE_CODES, 'SERVICE_UNREACHABLE', 'CONFLICT']);
/** A workflow run's execution timeout: a run no worker ever took does not hold the alias's id for longer. */
const RUN_TIMEOUT = '5m';
const POLL_MS = 250;
const { PENDING_WORKFLOW_TASK_STATE_STARTED } = temporal.api.enums.v1.PendingWorkflowTaskState;

/**
 * Alias moves carried out by a cpu worker through a workflow run (promoteAliasWorkflow,
 * rollbackAliasWorkflow): the worker holds the storage credentials, reads the approval policy from
 * the registry and does the write, so the caller needs only its Temporal connection. One run per
 * (model, alias) at a time (aliasMoveId): a second move while one is open is refused (CONFLICT).
 * A run no worker takes within `pickupMs` is terminated before anything moved (SERVICE_UNREACHABLE
 * naming the queue).
 */
export function workerAliasMover(client: Client, cpuQueue: string, opts: { pickupMs?: number } = {}): AliasMover {
  const pickupMs = opts.pickupMs ?? 20_000;

  async function carryOut<T extends keyof MoveResults>(workflowType: T, input: AliasMoveInput, summary: string): Promise<{ value: MoveResults[T] } | { unreadable: string }> {
    const workflowId = aliasMoveId(input.model, input.alias, cpuQueue);
    let handle: WorkflowHandle;
    try {
      handle = await client.workflow.start<(input: AliasMoveInput) => Promise<MoveResults[T]>>(workflowType, {
        taskQueue: cpuQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowExecutionTimeout: RUN_TIMEOUT,
        typedSearchAttributes: [
          { key: MODEL, value: input.model },
          { key: KIND, value: 'alias-move' },
        ],
        staticSummary: summary,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new MlcycleError('CONFLICT', `another move of alias "${input.alias}" of ${input.model} is in progress (workflow ${workflowId}); try again when it has finished`);
      }
      throw err;
    }
    const result = handle.result() as Promise<MoveResults[T]>;
    // Settled either way here; the outcome is read below.
    const settled = result.then(() => true, () => true);
    if (!(await Promise.race([settled, pickedUp(handle, pickupMs)]))) {
      // No worker started its first task, so no activity was scheduled: terminating moves nothing.
      await handle.terminate('no worker took the alias move').catch(() => undefined);
      // Unless a worker took it in the moment between the last look and the termination.
      const events = (await handle.fetchHistory()).events ?? [];
      if (events.some((e) => e.activityTaskScheduledEventAttributes)) {
        throw new MlcycleError('SERVICE_UNREACHABLE', `${summary}: a worker took it only as it was being withdrawn after ${pickupMs / 1000} s; it may have moved: see \`mlcycle models show ${input.model}\``);
      }
      throw new MlcycleError(
        'SERVICE_UNREACHABLE',
        `${summary}: no worker took it within ${pickupMs / 1000} s; nothing was moved. Start a cpu worker on task queue "${cpuQueue}" (mlcycle worker --queue cpu, or mlcycle dev)`,
      );
    }
    try {
      return { value: await result };
    } catch (err) {
      // The worker may have answered with a key this client lacks (it holds an older key file):
      // the move was still carried out, and saying it failed would be false.
      const codec = codecError(err);
      if (codec && (await handle.describe()).status.name === 'COMPLETED') return { unreadable: codec.message };
      throw asMoveError(err, summary, workflowId);
    }
  }

  return {
    async promote(input) {
      const r = await carryOut('promoteAliasWorkflow', { ...input, queue: cpuQueue }, `promote ${input.model} v${input.version} to "${input.alias}"`);
      return 'value' in r ? r.value : { moved: false, previous: null, serving: null, unreadable: r.unreadable };
    },
    async rollback(input) {
      const r = await carryOut('rollbackAliasWorkflow', { ...input, queue: cpuQueue }, `roll back "${input.alias}" of ${input.model}`);
      // Carried out, like an unreadable promotion: reported as done, with what is not known left null.
      return 'value' in r ? r.value : { from: null, to: null, unreadable: r.unreadable };
    },
  };
}

/** This client's codec refusing what the worker sent back, if that is what `err` is. */
function codecError(err: unknown): MlcycleError | undefined {
  for (let current: unknown = err; current instanceof Error; current = current.cause) {
    if (isMlcycleError(current) && current.code.startsWith('CODEC_')) return current;
  }
  return undefined;
}

/** True once a worker has started the run's first workflow task (or the run is over), false after `ms`. */
async function pickedUp(handle: WorkflowHandle, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { raw, status } = await handle.describe();
    const task = raw.pendingWorkflowTask;
    if (status.name !== 'RUNNING' || !task || task.state === PENDING_WORKFLOW_TASK_STATE_STARTED || Number(raw.workflowExecutionInfo?.historyLength ?? 0) > 2) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The worker's refusal as the MlcycleError it was raised as (its type is the code), else SERVICE_UNREACHABLE. */
function asMoveError(err: unknown, summary: string, workflowId: string): MlcycleError {
  let current: unknown = err;
  let timedOut = false;
  while (current instanceof Error) {
    // This client's own refusal (its codec cannot read the worker's answer, say).
    if (isMlcycleError(current)) return new MlcycleError(current.code, `${summary}: ${current.message}`, { cause: err });
    if (current instanceof ApplicationFailure && current.type && PASSED_THROUGH.has(current.type)) {
      return new MlcycleError(current.type as ErrorCode, current.message, { cause: err });
    }
    // The worker could not read what this client sent (input guard): the two sides' payload keys differ.
    if (current instanceof ApplicationFailure && current.type === 'PAYLOAD_REFUSED') {
      return new MlcycleError('CONFIG_INVALID', `${summary} refused by the worker: ${current.message}; give this client the workers' payload keys (MLCYCLE_CODEC_KEY_FILE or MLCYCLE_CODEC_KEYS)`, { cause: err });
    }
    if (current instanceof TimeoutFailure) timedOut = true;
    current = current.cause;
  }
  let innermost: unknown = err;
  while (innermost instanceof Error && innermost.cause instanceof Error) innermost = innermost.cause;
  const why = timedOut ? `workflow ${workflowId} timed out; see \`mlcycle models show\` for where the alias is` : (innermost as Error).message;
  return new MlcycleError('SERVICE_UNREACHABLE', `${summary} failed on the worker: ${why}`, { cause: err });
}
