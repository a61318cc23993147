/**
 * The task a pipeline trains (binary, multiclass, regression) and the checks that its target
 * column fits it, run at validation so that a mismatch stops the run before training and names
 * the column, the classes and the rows.
 *
 * Inference when `train.task` is absent: boolean or a 2-value category → binary; a category with
 * ≥ 3 values → multiclass; a number → regression, unless its values are only 0 and 1 → binary.
 */
import { MlcycleError } from '../errors';
import type { ColumnRule, TaskName } from '../spec/pipeline-spec';
import { noTaskReason, targetTask } from './task';

export type { TaskName };

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The class label of a raw target value, as data and serving spell it. */
export function labelOf(v: unknown): string {
  return typeof v === 'boolean' ? String(v) : String(v);
}

/** The task for this target: declared, or inferred from the schema and (for numbers) the training values. */
export function resolveTask(declared: TaskName | undefined, column: string, rule: ColumnRule, trainValues: readonly unknown[]): TaskName {
  const zeroOne = rule.type === 'number' ? trainValues.every((v) => isMissing(v) || asNumber(v) === 0 || asNumber(v) === 1) : undefined;
  const task = targetTask(rule, declared, zeroOne === undefined ? {} : { zeroOne });
  if (task === undefined) throw new MlcycleError('DATA_INVALID', noTaskReason(column, rule));
  return task;
}

export interface TargetIssue {
  message: string;
  observed?: string;
  expected?: string;
}

/** 1-based data row numbers (of the file) for messages: at most 5, then a count. */
function rowList(rows: readonly number[]): string {
  const shown = rows.slice(0, 5).join(', ');
  return rows.length > 5 ? `${shown} and ${rows.length - 5} more` : shown;
}

/**
 * Checks that the target fits the task: classification has the classes the task says, every class
 * of the test rows occurs in training, regression values are numbers. `trainRows`/`testRows` are
 * the file's 1-based data row numbers of the values (for messages).
 */
export function checkTargetForTask(opts: {
  column: string;
  rule: ColumnRule;
  declared: TaskName | undefined;
  train: readonly unknown[];
  test: readonly unknown[];
  trainRows?: readonly number[];
  testRows?: readonly number[];
  /** What `test` holds, for messages (default "test rows"). */
  heldOutName?: string;
}): { task: TaskName | undefined; issues: TargetIssue[] } {
  const { column, rule, declared, train, test } = opts;
  const issues: TargetIssue[] = [];
  let task: TaskName;
  try {
    task = resolveTask(declared, column, rule, train);
  } catch (err) {
    return { task: undefined, issues: [{ message: (err as Error).message }] };
  }
  const how = declared ? 'train.task is' : 'the schema makes the task';
  if (task === 'regression') {
    if (rule.type !== 'number') {
      issues.push({ message: `target "${column}": ${how} regression, which needs a number column; data.schema declares it as ${rule.type}`, expected: 'number', observed: rule.type });
      return { task, issues };
    }
    const bad: number[] = [];
    const examples: string[] = [];
    [...train, ...test].forEach((v, i) => {
      if (isMissing(v) || asNumber(v) !== undefined) return;
      const rows = i < train.length ? opts.trainRows : opts.testRows;
      bad.push(rows?.[i < train.length ? i : i - train.length] ?? i + 1);
      if (examples.length < 3) examples.push(JSON.stringify(v));
    });
    if (bad.length) issues.push({ message: `target "${column}": regression needs numbers; ${bad.length} values are not (${examples.join(', ')}) at data rows ${rowList(bad.sort((a, b) => a - b))}`, expected: 'numbers', observed: `${bad.length} non-numeric` });
    return { task, issues };
  }
  const trainClasses = new Map<string, number>();
  for (const v of train) if (!isMissing(v)) trainClasses.set(labelOf(v), (trainClasses.get(labelOf(v)) ?? 0) + 1);
  const testClasses = new Map<string, number[]>();
  test.forEach((v, i) => {
    if (isMissing(v)) return;
    const l = labelOf(v);
    const list = testClasses.get(l) ?? [];
    list.push(opts.testRows?.[i] ?? i + 1);
    testClasses.set(l, list);
  });
  const all = [...new Set([...trainClasses.keys(), ...testClasses.keys()])].sort();
  const declaredClasses = rule.type === 'category' ? rule.values.length : undefined;
  if (task === 'binary' && (all.length > 2 || (declaredClasses !== undefined && declaredClasses > 2))) {
    const classes = declaredClasses !== undefined && declaredClasses > all.length && rule.type === 'category' ? rule.values : all;
    issues.push({
      message: `target "${column}" has ${classes.length} classes (${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', …' : ''}) but ${how} binary, which needs exactly 2; use train.task: multiclass`,
      expected: '2 classes',
      observed: `${classes.length} classes`,
    });
  }
  if (task === 'multiclass' && all.length < 3 && declared === 'multiclass') {
    issues.push({ message: `target "${column}" has ${all.length} classes (${all.join(', ')}) but train.task is multiclass, which needs at least 3; use binary`, expected: '>= 3 classes', observed: `${all.length} classes` });
  }
  if (trainClasses.size < 2) {
    issues.push({ message: `target "${column}": the training rows hold ${trainClasses.size === 0 ? 'no class' : `only class ${[...trainClasses.keys()][0]}`}; a classifier needs at least 2`, observed: `${trainClasses.size} classes` });
  }
  for (const [label, rows] of testClasses) {
    if (!trainClasses.has(label)) {
      issues.push({
        message: `target "${column}": class ${JSON.stringify(label)} occurs in the ${opts.heldOutName ?? 'test rows'} (${rows.length}×, data rows ${rowList(rows)}) but never in the training rows, so no model can learn it`,
        observed: label,
      });
    }
  }
  return { task, issues };
}
