import { describe, expect, it } from 'vitest';
import type { LoadedTable } from '../../src/data/columnar-load';
import { encodeSplit, fitColumnarEncoder } from '../../src/training/columnar-encoder';
import { encodeFeatureRows, encodeTargetRows, fitRowEncoder } from '../../src/training/row-matrix-adapter';
import type { ColumnRule } from '../../src/spec/pipeline-spec';

const schema: Record<string, ColumnRule> = {
  x: { type: 'number', required: true },
  plan: { type: 'category', values: ['basic', 'pro'], required: true },
  note: { type: 'string', required: false },
  vip: { type: 'boolean', required: true },
  y: { type: 'boolean', required: true },
};
const rows = [
  { x: 1, plan: 'basic', vip: true, y: true },
  { x: 3, plan: 'pro', vip: false, y: false },
  { x: null, plan: null, vip: null, y: true },
  { x: 8, plan: 'gold', vip: true, y: false },
];
const table: LoadedTable = {
  rows: 4,
  rowIndex: Float64Array.from([0, 1, 2, 3]),
  columns: [
    { name: 'x', rule: schema.x!, values: Float64Array.from([1, 3, NaN, 8]) },
    { name: 'plan', rule: schema.plan!, values: Float64Array.from([0, 1, NaN, -1]) },
    { name: 'vip', rule: schema.vip!, values: Float64Array.from([1, 0, NaN, 1]) },
  ],
  target: Float64Array.from([1, 0, 1, 0]),
  targetClasses: ['false', 'true'],
  droppedMissingTarget: 0,
};

describe('columnar encoder', () => {
  const same = (a: number, b: number) => (Number.isNaN(b) ? expect(a).toBeNaN() : expect(a).toBeCloseTo(b, 12));

  it('fits the encoder serving uses (row-matrix JSON) and encodes the numbers the row path makes, column-major', () => {
    const train = Uint32Array.from([0, 1, 2, 3]);
    const fitted = fitColumnarEncoder(table, { schema, target: 'y', trainRows: train });
    const rowEncoder = fitRowEncoder({ schema, target: 'y', task: 'binary', rows });
    expect(fitted.format).toBe('mlcycle-row-matrix/v1');
    expect(fitted.task).toBe('binary');
    expect(fitted.featureNames).toEqual(rowEncoder.featureNames);
    expect(fitted.target).toEqual(rowEncoder.target);
    expect(fitted.ignored).toEqual(['note']);
    for (const [k, col] of fitted.columns.entries()) {
      const other = rowEncoder.columns[k]!;
      if (col.kind === 'number' && other.kind === 'number') {
        expect(col.mean).toBeCloseTo(other.mean, 12);
        expect(col.std).toBeCloseTo(other.std, 12);
      } else expect(col).toEqual(other);
    }
    const m = encodeSplit(fitted, table, schema.y!, train);
    const X = encodeFeatureRows(rowEncoder, rows);
    // Missing → NaN (the whole one-hot of a missing category), an undeclared category → all 0.
    for (let j = 0; j < X.columns.length; j++) for (let i = 0; i < 4; i++) same(m.X.columns[j]![i]!, X.columns[j]![i]!);
    expect(Array.from(m.X.columns[1]!)).toEqual([1, 0, NaN, 0]);
    expect(Array.from(m.y.values)).toEqual(Array.from(encodeTargetRows(rowEncoder, rows).values));
    expect(m.y).toMatchObject({ task: 'binary', classes: ['false', 'true'] });
  });

  it('fits statistics on the training rows only', () => {
    const fitted = fitColumnarEncoder(table, { schema, target: 'y', trainRows: Uint32Array.from([0, 1]) });
    expect(fitted.columns[0]).toMatchObject({ kind: 'number', mean: 2, std: 1 });
  });

  it('encodes multiclass (classes seen in training) and regression targets; names a bad row', () => {
    const cls: ColumnRule = { type: 'category', values: ['a', 'b', 'c', 'd'], required: true };
    const t3 = { ...table, target: Float64Array.from([0, 2, 1, 2]), targetClasses: ['a', 'b', 'c', 'd'] };
    const multi = fitColumnarEncoder(t3, { schema: { ...schema, y: cls }, target: 'y', trainRows: Uint32Array.from([0, 1, 2, 3]) });
    expect(multi.task).toBe('multiclass');
    expect(multi.target.classes).toEqual(['a', 'b', 'c']);
    expect(encodeSplit(multi, t3, cls, Uint32Array.from([1, 2])).y).toMatchObject({ task: 'multiclass', classes: ['a', 'b', 'c'] });
    const t4 = { ...t3, target: Float64Array.from([0, 2, 3, 2]) };
    expect(() => encodeSplit(multi, t4, cls, Uint32Array.from([2]))).toThrow(/data row 3: target "y" has the value "d"; expected one of "a", "b", "c"/);
    const num: ColumnRule = { type: 'number', required: true };
    const tr = { ...table, target: Float64Array.from([1.5, -2, 3, 0.25]) };
    delete (tr as Partial<LoadedTable>).targetClasses;
    const reg = fitColumnarEncoder(tr, { schema: { ...schema, y: num }, target: 'y', trainRows: Uint32Array.from([0, 1, 2, 3]) });
    expect(reg.task).toBe('regression');
    expect(Array.from(encodeSplit(reg, tr, num, Uint32Array.from([0, 1, 2, 3])).y.values)).toEqual([1.5, -2, 3, 0.25]);
    const binary = fitColumnarEncoder(tr, { schema: { ...schema, y: num }, target: 'y', task: 'binary', trainRows: Uint32Array.from([0]) });
    expect(() => encodeSplit(binary, tr, num, Uint32Array.from([0]))).toThrow(/target "y" has the value "1.5"/);
  });

  it('infers binary for a number target holding only 0 and 1 in training', () => {
    const num: ColumnRule = { type: 'number', required: true };
    const t01 = { ...table, target: Float64Array.from([0, 1, 1, 0]) };
    expect(fitColumnarEncoder(t01, { schema: { ...schema, y: num }, target: 'y', trainRows: Uint32Array.from([0, 1, 2, 3]) }).target.classes).toEqual(['0', '1']);
  });
});
