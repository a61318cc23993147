/**
 * What a target is trained as, and which trainer can train which task: one table, so validation
 * refuses a target the chosen trainer cannot train (naming it) before any training starts.
 */
import { taskFromSchema, type ColumnRule } from '../spec/pipeline-spec';
import type { TaskType } from './feature-matrix';

/** Tasks each trainer can train. `command` trainers judge their own data. */
export const TRAINER_TASKS: Readonly<Record<string, readonly TaskType[]>> = {
  'logistic-regression': ['binary', 'multiclass', 'regression'],
  'gradient-boosting': ['binary', 'multiclass', 'regression'],
  command: ['binary', 'multiclass', 'regression'],
};

/**
 * The task a target's rule implies when the spec does not say (`train.task`), as
 * target-task.ts's resolveTask does: a number target is binary when its values are only 0 and 1
 * (declared so, or seen so in the profile's `range`), else regression.
 */
export function inferTask(rule: ColumnRule | undefined, range?: { min: number; max: number }): TaskType | undefined {
  if (!rule) return undefined;
  switch (rule.type) {
    case 'boolean':
      return 'binary';
    case 'category':
      return taskFromSchema(rule) ?? 'multiclass';
    case 'number':
      if (rule.integer && rule.min === 0 && rule.max === 1) return 'binary';
      return range && [0, 1].includes(range.min) && [0, 1].includes(range.max) ? 'binary' : 'regression';
    case 'string':
      return undefined;
  }
}

/**
 * Why `target` (with `rule`) cannot be trained as `task` by `trainer`, or undefined when it can.
 * A number target is binary only as 0/1 (checked on the data by validation).
 */
export function taskProblem(target: string, rule: ColumnRule | undefined, task: TaskType | undefined, trainer: string, range?: { min: number; max: number }): string | undefined {
  if (!rule) return `target "${target}" is not a column of the schema`;
  const t = task ?? inferTask(rule, range);
  if (!t) return `target "${target}" is a ${rule.type} column; declare it as boolean, category or number (or set train.task)`;
  const ok = TRAINER_TASKS[trainer] ?? [];
  if (!ok.includes(t)) {
    return `target "${target}" is a ${t} target (${rule.type}${rule.type === 'category' ? ` with ${rule.values.length} values` : ''}); trainer ${trainer} trains ${ok.join(', ') || 'no'} targets only`;
  }
  if (t === 'binary' && rule.type === 'category' && rule.values.length !== 2) return `target "${target}": a binary task needs exactly 2 categories, the schema lists ${rule.values.length}`;
  if (t === 'binary' && rule.type === 'string') return `target "${target}" is a string column; a binary task needs a boolean, 2-valued category or 0/1 number`;
  // A number target may be multiclass (its distinct values are the classes, target-task.ts).
  if (t === 'multiclass' && rule.type === 'string') return `target "${target}": a multiclass task needs a category, boolean or number target, it is a string column`;
  if (t === 'regression' && rule.type !== 'number') return `target "${target}": a regression task needs a number target, it is ${rule.type}`;
  return undefined;
}
