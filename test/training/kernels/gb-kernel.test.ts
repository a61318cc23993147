import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { compileGbKernel, EMBEDDED, embeddedModule } from '../../../scripts/build-gb-kernel';
import { histGradientBoosting } from '../../../src/training/hist-gradient-boosting';
import { createArena, gbKernelSetting } from '../../../src/training/kernels/gb-kernel';
import type { RawParams } from '../../../src/training/trainer-contract';
import { mulberry32, synthetic } from '../../helpers/synthetic-tasks';
import { fit, freshCopy } from '../engine-harness';

const gb = histGradientBoosting;

/** A fit with the WebAssembly kernel and one with the JavaScript loops, on fresh copies of the data. */
function bothWays(task: 'binary' | 'multiclass' | 'regression', raw: RawParams, weighted: boolean) {
  const data = synthetic({ task, rows: 3000, features: 7, seed: 21, missing: 0.05 });
  const rng = mulberry32(5);
  const sampleWeight = weighted ? Float64Array.from({ length: data.X.rows }, () => 0.5 + rng()) : undefined;
  const run = (kernel: 'wasm' | 'js') => {
    if (kernel === 'js') process.env.MLCYCLE_GB_KERNEL = 'js';
    else delete process.env.MLCYCLE_GB_KERNEL;
    const copy = freshCopy(data);
    const s = fit(gb, copy, raw, sampleWeight ? { sampleWeight } : {});
    return { model: s.model, history: s.history, predictions: gb.predict(s, copy.X) };
  };
  return { wasm: run('wasm'), js: run('js') };
}

describe('gradient-boosting WebAssembly kernel', () => {
  afterEach(() => {
    delete process.env.MLCYCLE_GB_KERNEL;
  });

  it('the embedded bytes are what the AssemblyScript source compiles to', async () => {
    expect(fs.readFileSync(EMBEDDED, 'utf8')).toBe(embeddedModule(await compileGbKernel()));
  });

  // Seven features: one four-feature pass and three single ones; missing values, weights (so
  // hessians vary), row and feature subsampling: every branch of both kernel functions.
  it.each([
    ['binary', { epochs: 12, maxLeafNodes: 15, minSamplesLeaf: 10 }, true],
    ['multiclass', { epochs: 8, maxLeafNodes: 9, subsample: 0.7, maxFeatures: 0.6 }, false],
    ['regression', { epochs: 12, maxLeafNodes: 31, minSamplesLeaf: 5 }, false],
    ['regression', { epochs: 6, maxDepth: 3, subsample: 0.5 }, true],
  ] as const)('%s %j (weighted: %s): the same trees and predictions as the JavaScript loops, bit for bit', (task, raw, weighted) => {
    const { wasm, js } = bothWays(task, raw, weighted);
    expect(wasm.model.trees.length).toBeGreaterThan(0);
    expect(wasm.model.trees.some((t) => t.feature.filter((f) => f >= 0).length >= 3)).toBe(true);
    expect(wasm.model).toEqual(js.model);
    expect(wasm.history).toEqual(js.history);
    expect(Buffer.from(wasm.predictions.buffer).equals(Buffer.from(js.predictions.buffer))).toBe(true);
  });

  it('bins values by the first edge ≥ the value: ties, ends, -0, infinities and NaN (the missing bin)', () => {
    const edges = Float64Array.from([-1, 0, 0.5, 2, 2.5]);
    const rng = mulberry32(3);
    const special = [-1, 0, -0, 0.5, 2, 2.5, -1.0000001, 2.5000001, Infinity, -Infinity, Number.NaN, 1e300, -1e300];
    const values = Float64Array.from([...special, ...Array.from({ length: 1000 }, () => (rng() - 0.3) * 4)]);
    const arena = createArena(values.length, 2, 1)!;
    arena.binColumn(1, values, edges);
    const expected = Array.from(values, (v) => (Number.isNaN(v) ? 255 : ((i) => (i < 0 ? edges.length : i))(edges.findIndex((e) => v <= e))));
    expect(Array.from(arena.bins.subarray(values.length))).toEqual(expected);
    expect(arena.bins.subarray(0, values.length).every((b) => b === 0)).toBe(true);
    expect(() => arena.binColumn(0, values.subarray(1), edges)).toThrow(RangeError);
  });

  it('MLCYCLE_GB_KERNEL is wasm (default) or js; anything else is refused naming the variable', () => {
    expect(gbKernelSetting({})).toBe('wasm');
    expect(gbKernelSetting({ MLCYCLE_GB_KERNEL: '' })).toBe('wasm');
    expect(gbKernelSetting({ MLCYCLE_GB_KERNEL: 'js' })).toBe('js');
    expect(() => gbKernelSetting({ MLCYCLE_GB_KERNEL: 'JS' })).toThrow(/MLCYCLE_GB_KERNEL.*(wasm|js)/s);
  });

  it('a matrix beyond what wasm32 addresses gets no arena (the trainer falls back to JavaScript)', () => {
    expect(createArena(2 ** 29, 16, 1)).toBeUndefined();
    const small = createArena(10, 3, 2)!;
    expect([small.bins.length, small.rows.length, small.g.length, small.h.length]).toEqual([30, 10, 20, 20]);
  });
});
