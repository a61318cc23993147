import { describe, expect, it } from 'vitest';
import type { LoadedTable } from '../../src/data/columnar-load';
import { encodeSplit, fitColumnarEncoder } from '../../src/training/columnar-encoder';
import { encode, fitEncoder } from '../../src/training/features';
import type { ColumnRule } from '../../src/spec/pipeline-spec';

const schema: Record<string, ColumnRule> = {
  x: { type: 'number', required: true },
  plan: { type: 'category', values: ['basic', 'pro'], required: true },
  vip: { type: 'boolean', required: true },
  y: { type: 'boolean', required: true },
};
const rows = [
  { x: 1, plan: 'basic', vip: true, y: true },
  { x: 3, plan: 'pro', vip: false, y: false },
  { x: null, plan: null, vip: null, y: true },
  { x: 8, plan: 'pro', vip: true, y: false },
];
const table: LoadedTable = {
  rows: 4,
  rowIndex: Float64Array.from([0, 1, 2, 3]),
  columns: [
    { name: 'x', rule: schema.x!, values: Float64Array.from([1, 3, NaN, 8]) },
    { name: 'plan', rule: schema.plan!, values: Float64Array.from([0, 1, -1, 1]) },
    { name: 'vip', rule: schema.vip!, values: Float64Array.from([1, 0, NaN, 1]) },
  ],
  target: Float64Array.from([1, 0, 1, 0]),
  targetClasses: ['false', 'true'],
  droppedMissingTarget: 0,
};

describe('columnar encoder', () => {
  it('fits the same EncoderState as features.ts and encodes the same numbers, column-major', () => {
    const train = Uint32Array.from([0, 1, 2, 3]);
    const fitted = fitColumnarEncoder(table, 'y', schema.y!, train);
    const rowEncoder = fitEncoder({ schema, target: 'y', rows });
    expect(fitted.state.featureNames).toEqual(rowEncoder.featureNames);
    expect(fitted.state.target).toEqual(rowEncoder.target);
    for (const [k, col] of fitted.state.columns.entries()) {
      const other = rowEncoder.columns[k]!;
      if (col.kind === 'number' && other.kind === 'number') {
        expect(col.mean).toBeCloseTo(other.mean, 12);
        expect(col.std).toBeCloseTo(other.std, 12);
      } else expect(col).toEqual(other);
    }
    const m = encodeSplit(fitted, table, train);
    const expected = encode(rowEncoder, rows);
    for (let i = 0; i < 4; i++) for (let j = 0; j < m.X.columns.length; j++) expect(m.X.columns[j]![i]).toBeCloseTo(expected.X[i]![j]!, 12);
    expect(Array.from(m.y.values)).toEqual(expected.y);
    expect(m.y).toMatchObject({ task: 'binary', classes: ['false', 'true'] });
  });

  it('fits statistics on the training rows only', () => {
    const fitted = fitColumnarEncoder(table, 'y', schema.y!, Uint32Array.from([0, 1]));
    expect(fitted.state.columns[0]).toMatchObject({ kind: 'number', mean: 2, std: 1 });
  });

  it('encodes multiclass and regression targets', () => {
    const cls: ColumnRule = { type: 'category', values: ['a', 'b', 'c'], required: true };
    const t3 = { ...table, target: Float64Array.from([0, 2, 1, 2]), targetClasses: ['a', 'b', 'c'] };
    const multi = fitColumnarEncoder(t3, 'y', cls, Uint32Array.from([0, 1, 2, 3]));
    expect(multi.task).toBe('multiclass');
    expect(encodeSplit(multi, t3, Uint32Array.from([1, 2])).y).toMatchObject({ task: 'multiclass', classes: ['a', 'b', 'c'] });
    const num: ColumnRule = { type: 'number', required: true };
    const tr = { ...table, target: Float64Array.from([1.5, -2, 3, 0.25]) };
    delete (tr as Partial<LoadedTable>).targetClasses;
    const reg = fitColumnarEncoder(tr, 'y', num, Uint32Array.from([0, 1, 2, 3]));
    expect(Array.from(encodeSplit(reg, tr, Uint32Array.from([0, 1, 2, 3])).y.values)).toEqual([1.5, -2, 3, 0.25]);
    expect(() => encodeSplit(fitColumnarEncoder(tr, 'y', num, Uint32Array.from([0]), 'binary'), tr, Uint32Array.from([0]))).toThrow(/target "y"/);
  });
});
