import { Context } from '@temporalio/activity';

/**
 * The time and key that make an audit entry written by an activity idempotent: the activity's
 * first scheduling time (the same on every retry) and its workflow run + activity id. A worker that
 * dies after writing the entry but before reporting back then rewrites the same object on retry.
 */
export function auditOnce(): { at: string; idempotencyKey?: string } {
  const info = Context.current().info;
  const run = info.workflowExecution;
  const at = new Date(info.scheduledTimestampMs).toISOString();
  // An activity started outside a workflow has no run to be idempotent within.
  return run ? { at, idempotencyKey: `${run.workflowId}/${run.runId}/${info.activityId}` } : { at };
}
