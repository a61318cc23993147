/**
 * What the target is trained as. `train.task` says it; without it a category target with more than
 * two values is multiclass and anything else binary (regression must be asked for, so a 0/1 number
 * target keeps meaning binary).
 */
import { MlcycleError } from '../errors';
import type { PipelineSpec } from '../spec/pipeline-spec';
import type { TaskType } from './feature-matrix';

export function resolveTask(data: PipelineSpec['data'], train: Pick<PipelineSpec['train'], 'task'>): TaskType {
  const rule = data.schema[data.target];
  if (rule === undefined) throw new MlcycleError('SPEC_INVALID', `data.target: "${data.target}" is not declared in data.schema`);
  const task = train.task ?? (rule.type === 'category' && rule.values.length > 2 ? 'multiclass' : 'binary');
  if (task === 'regression' && rule.type !== 'number') {
    throw new MlcycleError('SPEC_INVALID', `train.task: regression needs a number target, but "${data.target}" is declared ${rule.type}`);
  }
  if (task === 'multiclass' && rule.type !== 'category') {
    throw new MlcycleError('SPEC_INVALID', `train.task: multiclass needs a category target, but "${data.target}" is declared ${rule.type}`);
  }
  if (task === 'binary' && rule.type === 'category' && rule.values.length !== 2) {
    throw new MlcycleError('SPEC_INVALID', `train.task: binary needs 2 target values, but "${data.target}" lists ${rule.values.length}`);
  }
  return task;
}
