/**
 * The task as far as the spec alone tells it (no data loaded): `train.task`, else what the target's
 * schema implies (boolean or a 2-value category → binary, 3+ categories → multiclass, a number
 * declared integer in [0, 1] → binary, another number → regression). The pipeline itself resolves a
 * number target from its training rows (0/1 only → binary; columnar-encoder.ts resolveTaskFromColumns);
 * this is for callers without the data, and names a task the target cannot be.
 */
import { MlcycleError } from '../errors';
import type { PipelineSpec } from '../spec/pipeline-spec';
import type { TaskType } from './feature-matrix';
import { noTaskReason, targetTask } from './task';

export function resolveTask(data: PipelineSpec['data'], train: Pick<PipelineSpec['train'], 'task'>): TaskType {
  const rule = data.schema[data.target];
  if (rule === undefined) throw new MlcycleError('SPEC_INVALID', `data.target: "${data.target}" is not declared in data.schema`);
  const task = targetTask(rule, train.task);
  if (task === undefined) throw new MlcycleError('SPEC_INVALID', `data.target: ${noTaskReason(data.target, rule)}`);
  if (task === 'regression' && rule.type !== 'number') {
    throw new MlcycleError('SPEC_INVALID', `train.task: regression needs a number target, but "${data.target}" is declared ${rule.type}`);
  }
  if (task === 'multiclass' && rule.type === 'string') {
    throw new MlcycleError('SPEC_INVALID', `train.task: multiclass needs a category, boolean or number target, but "${data.target}" is declared string`);
  }
  if (task === 'binary' && rule.type === 'category' && rule.values.length !== 2) {
    throw new MlcycleError('SPEC_INVALID', `train.task: binary needs 2 target values, but "${data.target}" lists ${rule.values.length}`);
  }
  return task;
}
