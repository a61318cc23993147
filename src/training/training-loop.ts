/**
 * The resumable training loop. `runTraining` drives a trainer step by step (an L-BFGS iteration,
 * a boosting round: an "epoch" in progress and checkpoints), reports progress, hands out a
 * checkpoint every `checkpointEvery` steps and yields to the event loop between steps, so the
 * activity that runs it can heartbeat and notice cancellation. A run resumed from a checkpoint is
 * bit-for-bit the uninterrupted run. It stops at the step cap or earlier when the trainer says it
 * is done (converged, early-stopped).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { MlcycleError } from '../errors';
import { BUILTIN_TRAINERS } from '../spec/pipeline-spec';
import type { LabeledMatrix } from './feature-matrix';
import { toLabeledMatrix, validateTrainingData, type TrainingData } from './labeled-data';
import { auc } from './metrics';
import { outputWidth, predictionLoss, type EpochMetrics, type FitData, type RawParams } from './trainer-contract';
import { getTrainer, type Trainer, type TrainerName, type TrainerState } from './trainers';

export interface Checkpoint {
  format: 'mlcycle-checkpoint/v2';
  trainer: TrainerName;
  /** Steps completed. */
  epoch: number;
  totalEpochs: number;
  seed: number;
  /** Fingerprint of the training data and weights; resuming on different data is refused. */
  dataFingerprint: string;
  state: TrainerState;
}

const count = z.number().int().nonnegative();

/** The envelope of a stored checkpoint and the fields of the state every trainer has. */
const CheckpointEnvelopeSchema = z.object({
  format: z.literal('mlcycle-checkpoint/v2'),
  trainer: z.enum(BUILTIN_TRAINERS),
  epoch: count,
  totalEpochs: count,
  seed: z.number().int(),
  dataFingerprint: z.string().min(1),
  state: z.object({
    trainer: z.enum(BUILTIN_TRAINERS),
    task: z.enum(['binary', 'multiclass', 'regression']),
    seed: z.number().int(),
    epoch: count,
    totalEpochs: count,
    done: z.boolean(),
    numFeatures: count,
    history: z.array(z.object({ epoch: z.number() })),
  }),
});

/**
 * A checkpoint as stored (`checkpointUri`). It is checked against the envelope but handed on as
 * the document itself: a parsed copy would reorder the state's keys, and a resumed run must
 * serialize exactly like the uninterrupted one.
 */
export const CheckpointSchema = z
  .unknown()
  .superRefine((doc, ctx) => {
    const r = CheckpointEnvelopeSchema.safeParse(doc);
    if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  })
  // The trainer-specific rest of the state (weights, trees, optimizer memory) is the trainer's own;
  // a checkpoint of another trainer, seed, params or data is refused by checkResumable.
  .transform((doc) => doc as Checkpoint);

export interface RunTrainingOptions {
  trainer: TrainerName | Trainer;
  data: LabeledMatrix | TrainingData;
  /** Held-out rows of the training split: early stopping, validation loss per step. */
  validation?: LabeledMatrix | TrainingData;
  /** Per training row (class weights). */
  sampleWeight?: Float64Array;
  params: RawParams;
  seed: number;
  resumeFrom?: Checkpoint;
  /** Hand out a checkpoint after every this many steps (counted from 0, so resuming keeps the cadence). */
  checkpointEvery: number;
  onEpoch?: (epoch: number, total: number, metrics: EpochMetrics) => void | Promise<void>;
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainingResult {
  state: TrainerState;
  history: EpochMetrics[];
  /** 0 for a fresh run, else the step of the checkpoint it resumed from. */
  resumedFromEpoch: number;
}

/** A cheap 64-bit FNV-1a-style fingerprint of the shape and every value of X, y and the weights. */
export function fingerprintData(data: LabeledMatrix | TrainingData, sampleWeight?: Float64Array): string {
  const m = toLabeledMatrix(data);
  const buf = new Float64Array(1);
  const words = new Uint32Array(buf.buffer);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (v: number): void => {
    buf[0] = v;
    const lo = words[0] as number;
    const hi = words[1] as number;
    h1 = Math.imul(h1 ^ lo, 0x01000193);
    h1 = Math.imul(h1 ^ hi, 0x01000193);
    h2 = Math.imul(h2 ^ hi, 0x5bd1e995);
    h2 = Math.imul(h2 ^ lo, 0x5bd1e995) ^ (h2 >>> 15);
  };
  for (const col of m.X.columns) {
    mix(col.length);
    for (let i = 0; i < col.length; i++) mix(col[i] as number);
  }
  for (let i = 0; i < m.y.values.length; i++) mix(m.y.values[i] as number);
  if (sampleWeight) for (let i = 0; i < sampleWeight.length; i++) mix(sampleWeight[i] as number);
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `${m.y.task}:${m.X.rows}x${m.X.columns.length}:${hex(h1)}${hex(h2)}`;
}

function makeCheckpoint(state: TrainerState, dataFingerprint: string): Checkpoint {
  return { format: 'mlcycle-checkpoint/v2', trainer: state.trainer, epoch: state.epoch, totalEpochs: state.totalEpochs, seed: state.seed, dataFingerprint, state };
}

function checkResumable(cp: Checkpoint, trainer: Trainer, params: unknown, seed: number, fingerprint: string): void {
  const refuse = (why: string): never => {
    throw new MlcycleError('TRAINING_FAILED', `cannot resume from the epoch-${String(cp.epoch)} checkpoint: ${why}`);
  };
  if (cp.format !== 'mlcycle-checkpoint/v2') refuse(`unknown checkpoint format ${JSON.stringify(cp.format)}`);
  if (cp.state.trainer !== trainer.name) refuse(`it was made by trainer ${cp.state.trainer}, this run uses ${trainer.name}`);
  if (cp.state.seed !== seed) refuse(`it was made with seed ${cp.state.seed}, this run uses ${seed}`);
  // Early stopping resolves against the validation rows at init; compare what the spec controls.
  const comparable = (p: unknown) => JSON.stringify({ ...(p as object), earlyStopping: undefined });
  if (comparable(cp.state.params) !== comparable(params)) {
    refuse(`it was made with params ${JSON.stringify(cp.state.params)}, this run has ${JSON.stringify(params)}`);
  }
  if (cp.dataFingerprint !== fingerprint) refuse(`the training data differ (fingerprint ${cp.dataFingerprint}, now ${fingerprint})`);
}

/**
 * Trains step by step from scratch or from `resumeFrom`. Resuming gives bit-identical results to
 * an uninterrupted run with the same seed, params and data.
 */
export async function runTraining(options: RunTrainingOptions): Promise<TrainingResult> {
  const trainer = typeof options.trainer === 'string' ? getTrainer(options.trainer) : options.trainer;
  const { seed, signal, sampleWeight } = options;
  const every = options.checkpointEvery;
  if (!Number.isInteger(every) || every < 1) throw new MlcycleError('SPEC_INVALID', `train.checkpointEvery: must be a positive integer, got ${every}`);
  signal?.throwIfAborted();

  const train = toLabeledMatrix(options.data);
  const validation = options.validation ? toLabeledMatrix(options.validation, 'validation data') : undefined;
  validateTrainingData(train);
  if (validation) validateTrainingData(validation, 'validation data');
  if (sampleWeight && sampleWeight.length !== train.X.rows) throw new MlcycleError('DATA_INVALID', `${sampleWeight.length} sample weights for ${train.X.rows} training rows`);
  const engine = trainer.engine;
  const params: unknown = engine.parseParams(options.params, { task: train.y.task, rows: train.X.rows });
  const fingerprint = fingerprintData(train, sampleWeight);
  const data: FitData = { train, ...(validation ? { validation } : {}), ...(sampleWeight ? { sampleWeight } : {}) };

  let state: TrainerState;
  if (options.resumeFrom !== undefined) {
    checkResumable(options.resumeFrom, trainer, params, seed, fingerprint);
    state = structuredClone(options.resumeFrom.state);
  } else {
    state = engine.init(data, params, seed);
  }
  const resumedFromEpoch = state.epoch;
  const total = state.totalEpochs;
  const width = outputWidth(train.y.task, state.classes?.length ?? 2);

  while (!state.done && state.epoch < total) {
    signal?.throwIfAborted();
    state = engine.step(state, data);
    let last = state.history[state.history.length - 1] as EpochMetrics;
    if (validation && last.valLoss === undefined) {
      // The linear model leaves validation scoring to the loop (cheap: one pass over the rows).
      const pred = engine.predict(state, validation.X);
      last = { ...last, valLoss: predictionLoss(state.task, validation.y.values, pred, width) };
      if (state.task === 'binary') {
        const a = auc(validation.y.values, pred);
        if (!Number.isNaN(a)) last.valAuc = a;
      }
      state = { ...state, history: [...state.history.slice(0, -1), last] };
    }
    await options.onEpoch?.(state.epoch, total, last);
    if (state.epoch % every === 0 || state.done) await options.onCheckpoint?.(makeCheckpoint(state, fingerprint));
    await yieldToEventLoop();
  }
  return { state, history: state.history, resumedFromEpoch };
}
