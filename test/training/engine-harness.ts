/** Drives a ModelTrainer to the end (optionally through a JSON checkpoint), for the engine tests. */
import type { LabeledMatrix } from '../../src/training/feature-matrix';
import type { BuiltinTrainerName, EngineStateBase, FitData, ModelTrainer, RawParams } from '../../src/training/trainer-contract';

export function fit<N extends BuiltinTrainerName, P, S extends EngineStateBase<N, P>>(
  trainer: ModelTrainer<N, P, S>,
  train: LabeledMatrix,
  raw: RawParams = {},
  opts: { seed?: number; validation?: LabeledMatrix; sampleWeight?: Float64Array; stopAt?: number; resumeFrom?: S } = {},
): S {
  const data: FitData = { train, ...(opts.validation ? { validation: opts.validation } : {}), ...(opts.sampleWeight ? { sampleWeight: opts.sampleWeight } : {}) };
  let state = opts.resumeFrom ?? trainer.init(data, trainer.parseParams(raw, { task: train.y.task, rows: train.X.rows }), opts.seed ?? 1);
  while (!state.done && state.epoch < state.totalEpochs) {
    if (opts.stopAt !== undefined && state.epoch >= opts.stopAt) break;
    state = trainer.step(state, data);
  }
  return state;
}

/** The same data in new arrays: nothing cached for the originals applies (as after a worker restart). */
export function freshCopy(d: LabeledMatrix): LabeledMatrix {
  return { X: { ...d.X, columns: d.X.columns.map((c) => c.slice()) }, y: { ...d.y, values: d.y.values.slice() } };
}
