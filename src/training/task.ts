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

/** What the data says of a number target's values, when it has been read. */
export interface TargetEvidence {
  /** Every (training) value is 0 or 1: the scan of the values, when one was made. */
  zeroOne?: boolean;
  /** The profile's observed range, when only that is known. */
  range?: { min: number; max: number };
}

/**
 * The one rule for the task a target trains as; every caller (spec checks, validation, train,
 * evaluation, command trainers) goes through it with what it knows. `train.task` when declared;
 * else boolean or a 2-value category → binary, a category with 3 or more values → multiclass; a
 * number → binary when its values are only 0 and 1 (declared integer in [0, 1], or seen so in the
 * data: `evidence`), else regression. Undefined when the rule implies no task (a string column, a
 * category with fewer than 2 values); targetTaskProblem says why.
 */
export function targetTask(rule: ColumnRule | undefined, declared: TaskType | undefined, evidence: TargetEvidence = {}): TaskType | undefined {
  if (declared) return declared;
  if (!rule) return undefined;
  const fromSchema = taskFromSchema(rule);
  if (fromSchema) return fromSchema;
  if (rule.type !== 'number') return undefined;
  if (evidence.zeroOne !== undefined) return evidence.zeroOne ? 'binary' : 'regression';
  if (rule.integer && rule.min === 0 && rule.max === 1) return 'binary';
  const r = evidence.range;
  return r && [0, 1].includes(r.min) && [0, 1].includes(r.max) ? 'binary' : 'regression';
}

/** Why targetTask implies no task for this target (a message naming it). */
export function noTaskReason(target: string, rule: ColumnRule): string {
  if (rule.type === 'category') return `target "${target}" declares ${rule.values.length === 1 ? 'a single category' : 'no category'} (${rule.values.join(', ')}); a classifier needs at least 2 classes`;
  return `target "${target}" is a ${rule.type} column; declare it as boolean, category or number (or set train.task)`;
}

/** The task a target's rule implies when the spec does not say (`train.task`), from the profile's range at most. */
export function inferTask(rule: ColumnRule | undefined, range?: { min: number; max: number }): TaskType | undefined {
  return targetTask(rule, undefined, range ? { range } : {});
}

/**
 * Why `target` (with `rule`) cannot be trained as `task` by `trainer`, or undefined when it can.
 * A number target is binary only as 0/1 (checked on the data by validation).
 */
export function taskProblem(target: string, rule: ColumnRule | undefined, task: TaskType | undefined, trainer: string, range?: { min: number; max: number }): string | undefined {
  if (!rule) return `target "${target}" is not a column of the schema`;
  const t = task ?? inferTask(rule, range);
  if (!t) return noTaskReason(target, rule);
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
