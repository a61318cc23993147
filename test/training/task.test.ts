import { describe, expect, it } from 'vitest';
import type { LoadedTable } from '../../src/data/columnar-load';
import type { ColumnRule } from '../../src/spec/pipeline-spec';
import { resolveTaskFromColumns } from '../../src/training/columnar-encoder';
import { resolveTask as resolveFromValues } from '../../src/training/target-task';
import { inferTask, targetTask, taskProblem } from '../../src/training/task';
import { resolveTask as resolveFromSpec } from '../../src/training/task-type';

// One rule for the task a target trains as; each entry point feeds it what it knows (the spec, the
// profile's range, the training values as rows or as a loaded column) and they must agree.
const bool: ColumnRule = { type: 'boolean', required: true };
const two: ColumnRule = { type: 'category', values: ['no', 'yes'], required: true };
const three: ColumnRule = { type: 'category', values: ['a', 'b', 'c'], required: true };
const one: ColumnRule = { type: 'category', values: ['only'], required: true };
const num: ColumnRule = { type: 'number', required: true };
const flag: ColumnRule = { type: 'number', required: true, integer: true, min: 0, max: 1 };
const text: ColumnRule = { type: 'string', required: true };

function table(values: number[]): { table: LoadedTable; rows: Uint32Array } {
  const t = { rows: values.length, rowIndex: new Float64Array(values.length), columns: [], target: Float64Array.from(values), droppedMissingTarget: 0 } satisfies LoadedTable;
  return { table: t, rows: Uint32Array.from(values.map((_, i) => i)) };
}

describe('targetTask: the one rule', () => {
  it('declared wins; booleans and 2 categories are binary, 3+ multiclass; numbers by their values', () => {
    expect(targetTask(three, 'binary')).toBe('binary');
    expect(targetTask(bool, undefined)).toBe('binary');
    expect(targetTask(two, undefined)).toBe('binary');
    expect(targetTask(three, undefined)).toBe('multiclass');
    expect(targetTask(num, undefined)).toBe('regression');
    expect(targetTask(flag, undefined)).toBe('binary');
    expect(targetTask(num, undefined, { range: { min: 0, max: 1 } })).toBe('binary');
    expect(targetTask(num, undefined, { range: { min: 0, max: 2 } })).toBe('regression');
    // Seen values beat the declared bounds and the range.
    expect(targetTask(num, undefined, { zeroOne: true, range: { min: 0, max: 5 } })).toBe('binary');
    expect(targetTask(flag, undefined, { zeroOne: false })).toBe('regression');
    expect(targetTask(one, undefined)).toBeUndefined();
    expect(targetTask(text, undefined)).toBeUndefined();
  });

  it('every entry point agrees with it, and refuses the same targets with the same reason', () => {
    const cases: Array<[ColumnRule, number[]]> = [
      [bool, [0, 1, 1]],
      [two, [0, 1]],
      [three, [0, 1, 2]],
      [num, [0, 1, 1, 0]],
      [num, [0, 3.5, 1]],
      [flag, [0, 1]],
    ];
    for (const [rule, ys] of cases) {
      const want = targetTask(rule, undefined, rule.type === 'number' ? { zeroOne: ys.every((y) => y === 0 || y === 1) } : {});
      const { table: t, rows } = table(ys);
      expect(resolveTaskFromColumns(undefined, t, 'y', rule, rows), `${rule.type} ${ys.join(',')}`).toBe(want);
      expect(resolveFromValues(undefined, 'y', rule, ys), `${rule.type} ${ys.join(',')}`).toBe(want);
      if (rule.type !== 'number') {
        expect(resolveFromSpec({ target: 'y', schema: { y: rule } } as never, {})).toBe(want);
        expect(inferTask(rule)).toBe(want);
      }
    }
    const single = /target "y" declares a single category \(only\); a classifier needs at least 2 classes/;
    expect(() => resolveTaskFromColumns(undefined, table([0]).table, 'y', one, table([0]).rows)).toThrow(single);
    expect(() => resolveFromValues(undefined, 'y', one, ['only'])).toThrow(single);
    expect(() => resolveFromSpec({ target: 'y', schema: { y: one } } as never, {})).toThrow(single);
    // Validation names it before training (it used to pass a one-category target as multiclass).
    expect(taskProblem('y', one, undefined, 'gradient-boosting')).toMatch(single);
    expect(taskProblem('y', text, undefined, 'gradient-boosting')).toMatch(/target "y" is a string column; declare it as boolean, category or number/);
  });
});
