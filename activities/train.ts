import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { MlcycleError } from '../src/errors';
import { recordTrainingResume } from '../src/observability/activity-telemetry';
import { runCommandTrainer } from '../src/training/command-trainer';
import { assertCommandAllowed, trainerBaseEnv, workerPermissions, type WorkerPermissions } from '../src/worker/worker-permissions';
import { redactSecrets } from '../src/config/secrets';
import { createModelArtifact } from '../src/training/model-artifact';
import { classWeights } from '../src/training/class-weights';
import { readStoredJson } from '../src/storage/stored-json';
import { CheckpointSchema, runTraining, type Checkpoint } from '../src/training/training-loop';
import { getTrainer, type TrainerName } from '../src/training/trainers';
import { optimizeThreshold } from '../src/training/task-metrics';
import type { DecisionThreshold } from '../src/training/model-artifact';
import { loadTrainingMatrices } from './training-data';
import type { DatasetRef, TrainResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { downloadFolder, uploadFolder } from './folder-artifacts';
import { GpuPool } from './gpu-pool';
import { asActivityFailure } from './failures';
import { startPulse, type ActivityPulse } from './heartbeat';
import { createStepCache, stepCacheKey } from './step-cache';
import { writeServingDescription, writeTrainerData } from './command-data';
import { waitForStore } from './store-wait';

/** Handed in by the worker; a bare deps (unit tests) gets the environment's settings. */
const permissionsOf = (deps: ActivityDeps): WorkerPermissions => deps.permissions ?? workerPermissions({}, deps.env ?? process.env);

export interface TrainInput {
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  train: PipelineSpec['train'];
  /** `evaluate.threshold`: the binary decision threshold, fixed or optimized on the validation rows. */
  threshold?: PipelineSpec['evaluate']['threshold'];
  /** The spec's `serve` section, stored with the model (built-in trainers) for the prediction servers. */
  serve?: PipelineSpec['serve'];
  /** Folder of the spec file: a command trainer runs there. */
  specDir?: string;
  codeVersion: string;
  cache: boolean;
}

/** What a training attempt leaves in its heartbeat, so the next attempt can resume. */
interface TrainHeartbeat {
  done: number;
  total: number;
  loss?: number;
  checkpointUri?: string;
  checkpointEpoch?: number;
  resumedFrom?: number;
}

function seedOf(input: TrainInput): number {
  const s = input.train.params.seed;
  return typeof s === 'number' ? s : input.data.split.seed;
}

function paramsWithoutSeed(params: TrainInput['train']['params']) {
  const { seed: _seed, ...rest } = params;
  return rest;
}

/**
 * Training with heartbeats and checkpoints: every `checkpointEvery` epochs a checkpoint goes to S3
 * and its URI into the heartbeat; a retry (for example after the worker was killed) reads the last
 * heartbeat and resumes from that checkpoint instead of epoch 0.
 */
export function createTrainActivities(deps: ActivityDeps) {
  const cache = createStepCache(deps.store);
  const gpus = new GpuPool(deps.gpuDevices);
  return {
    async trainModel(input: TrainInput): Promise<TrainResult> {
      const ctx = Context.current();
      if (input.train.trainer === 'command') {
        // The spec only asks: this worker's --allow-command / --allow-env decide, before anything runs.
        try {
          assertCommandAllowed(input.train.command?.[0] ?? '', input.specDir, permissionsOf(deps).allowedCommands);
          trainerBaseEnv(deps.env ?? process.env, input.train.env ?? [], permissionsOf(deps).allowedEnv);
        } catch (err) {
          throw asActivityFailure(err);
        }
      }
      const seed = seedOf(input);
      const key = stepCacheKey('train', {
        code: input.codeVersion,
        sha256: input.dataset.sha256,
        data: input.data,
        trainer: input.train.trainer,
        command: input.train.command,
        params: input.train.params,
        task: input.train.task,
        classWeight: input.train.classWeight,
        threshold: input.threshold,
        ...(input.serve ? { serve: input.serve } : {}),
        seed,
      });
      // An attempt that starts during a storage outage waits it out instead of failing at once.
      await waitForStore(ctx, deps.store, input.dataset.uri, ctx.info.heartbeatDetails);
      if (input.cache) {
        const hit = await cache.get<Omit<TrainResult, 'cached' | 'attempt'>>('train', key);
        if (hit) return { ...hit, resumedFrom: 0, cached: true, attempt: ctx.info.attempt };
      }
      const previous = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      // Beats from the first second (loading included), carrying the last checkpoint forward.
      const pulse = startPulse(ctx, { ...(previous ?? {}), phase: 'load' });
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'train-'));
      try {
        const output =
          input.train.trainer === 'command'
            ? await trainWithCommand(deps, pulse, input, scratch, previous, gpus)
            : await trainBuiltin(deps, pulse, input, scratch, previous, seed);
        await cache.put('train', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        // A trainer's output may quote what it found; the worker's secrets never travel on in a failure.
        if (err instanceof Error) err.message = redactSecrets(err.message, deps.env ?? process.env);
        throw asActivityFailure(err);
      } finally {
        pulse.stop();
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

type TrainOutput = Omit<TrainResult, 'cached' | 'attempt'>;

async function trainBuiltin(deps: ActivityDeps, pulse: ActivityPulse, input: TrainInput, scratch: string, previous: TrainHeartbeat | undefined, seed: number): Promise<TrainOutput> {
  // Curves, early stopping and the decision threshold see the validation rows only; the test rows are evaluate's alone.
  const m = await loadTrainingMatrices(deps, input.dataset, input.data, input.train, {
    scratch,
    signal: pulse.signal,
    onProgress: (rows) => pulse.beat({ ...(previous ?? {}), phase: 'load', rows }),
  });
  pulse.signal.throwIfAborted();
  const fitStarted = Date.now();
  const weights = input.train.classWeight !== undefined && m.task !== 'regression' ? classWeights(m.fit.y, input.train.classWeight) : undefined;

  let resumeFrom: Checkpoint | undefined;
  if (previous?.checkpointUri) {
    resumeFrom = await readStoredJson(deps.store, previous.checkpointUri, CheckpointSchema, 'checkpoint');
    recordTrainingResume(input.train.trainer, resumeFrom.epoch, previous.checkpointUri);
  }
  const resumedFrom = resumeFrom?.epoch ?? 0;
  let beat: TrainHeartbeat = { done: resumedFrom, total: 0, resumedFrom, ...(previous?.checkpointUri ? { checkpointUri: previous.checkpointUri, checkpointEpoch: resumedFrom } : {}) };

  const trainerName = input.train.trainer as TrainerName;
  const result = await runTraining({
    trainer: trainerName,
    data: m.fit,
    ...(m.validation ? { validation: m.validation } : {}),
    ...(weights ? { sampleWeight: weights.weights } : {}),
    params: paramsWithoutSeed(input.train.params),
    seed,
    resumeFrom,
    checkpointEvery: input.train.checkpointEvery,
    signal: pulse.signal,
    onEpoch: (epoch, total, metrics) => {
      beat = { ...beat, done: epoch, total, loss: metrics.loss };
      pulse.beat({ ...beat });
    },
    onCheckpoint: async (checkpoint) => {
      const ref = await deps.store.putJson(checkpoint);
      // Only after the upload: a heartbeat must never point at a checkpoint that is not there.
      beat = { ...beat, checkpointUri: ref.uri, checkpointEpoch: checkpoint.epoch };
      pulse.beat({ ...beat });
    },
  });
  const state = result.state;
  let threshold: DecisionThreshold | undefined;
  if (m.task === 'binary') {
    const spec = input.threshold;
    if (typeof spec === 'number') threshold = { value: spec, source: 'fixed' };
    else if (spec !== undefined) {
      if (!m.validation) {
        throw new MlcycleError('SPEC_INVALID', 'evaluate.threshold: optimize picks the threshold on the validation rows, and data.split.validation leaves none; set it above 0 (default 0.1)');
      }
      // Chosen on the validation rows: the test rows judge the model with it afterwards.
      const p = getTrainer(trainerName).predict(state, m.validation.X);
      const best = optimizeThreshold(m.validation.y.values, p, spec.optimize);
      threshold = { value: Math.min(Math.max(best.threshold, 1e-12), 1 - 1e-12), source: 'optimized', objective: spec.optimize, validationValue: best.value };
    }
  }
  const fitSeconds = (Date.now() - fitStarted) / 1000;
  const artifact = createModelArtifact(m.encoder, state, { ...(threshold ? { threshold } : {}), ...(weights ? { classWeight: weights.perClass } : {}), ...(input.serve ? { serve: input.serve } : {}) });
  const model = await deps.store.putJson(artifact);
  const history = await deps.store.putJson(result.history);
  const resolvedParams: Record<string, unknown> = { ...state.params, seed };
  return {
    modelUri: model.uri,
    historyUri: history.uri,
    epochs: state.epoch,
    resumedFrom: result.resumedFromEpoch,
    finalLoss: result.history.at(-1)?.loss,
    split: m.split,
    timings: { loadSeconds: m.loadSeconds, fitSeconds },
    task: m.task,
    resolvedParams,
    ...(state.stopReason ? { stopReason: state.stopReason } : {}),
    ...('converged' in state ? { converged: state.converged } : {}),
    splitSizes: m.sizes,
    ...(artifact.threshold ? { threshold: artifact.threshold.value } : {}),
  };
}

async function trainWithCommand(
  deps: ActivityDeps,
  pulse: ActivityPulse,
  input: TrainInput,
  scratch: string,
  previous: TrainHeartbeat | undefined,
  gpus: GpuPool,
): Promise<TrainOutput> {
  const resumedFrom = previous?.checkpointEpoch ?? 0;
  let beat: TrainHeartbeat = { done: resumedFrom, total: 0, resumedFrom, ...(previous?.checkpointUri ? { checkpointUri: previous.checkpointUri, checkpointEpoch: resumedFrom } : {}) };
  // The pulse beats the latest details on its timer while data is prepared and the program is silent
  // (importing torch, a long first epoch): only a dead worker misses the heartbeat timeout.
  pulse.beat({ ...beat, phase: 'load' });
  const dataFile = path.join(scratch, `dataset.${input.dataset.format}`);
  await deps.store.getToFile(input.dataset, dataFile);
  // The data plane's train / validation / test rows, one Parquet file each (the Python kit reads them).
  const { env: dataEnv, task, featureStats } = await writeTrainerData(deps, input.dataset, input.data, input.train.task, path.join(scratch, 'data'), pulse.signal);
  const outputDir = path.join(scratch, 'output');
  const checkpointDir = path.join(scratch, 'checkpoints');
  let resumeDir: string | undefined;
  if (previous?.checkpointUri) {
    resumeDir = path.join(scratch, 'resume');
    await downloadFolder(deps.store, previous.checkpointUri, resumeDir);
    recordTrainingResume(input.train.trainer, resumedFrom, previous.checkpointUri);
  }
  const history: Array<{ epoch: number; loss: number }> = [];
  const device = deps.queue === 'gpu' ? gpus.acquire() : undefined;
  try {
    const result = await runCommandTrainer({
      command: input.train.command ?? [],
      cwd: input.specDir,
      baseEnv: trainerBaseEnv(deps.env ?? process.env, input.train.env ?? [], permissionsOf(deps).allowedEnv),
      env: {
        ...dataEnv,
        ...(resumeDir ? { MLCYCLE_RESUME_EPOCH: String(resumedFrom) } : {}),
        MLCYCLE_DATA_FILE: dataFile,
        MLCYCLE_DATA_FORMAT: input.dataset.format,
        MLCYCLE_TARGET: input.data.target,
        MLCYCLE_SPLIT_TEST: String(input.data.split.test),
        MLCYCLE_SPLIT_SEED: String(input.data.split.seed),
        MLCYCLE_SPLIT_VALIDATION: String(input.data.split.validation),
      },
      params: input.train.params,
      outputDir,
      checkpointDir,
      resumeFrom: resumeDir,
      gpuDevice: device,
      signal: pulse.signal,
      onMetric: (m) => {
        if (m.name === 'loss' && m.epoch !== undefined) history.push({ epoch: m.epoch, loss: m.value });
        beat = { ...beat, done: m.epoch ?? beat.done, total: m.total ?? beat.total, ...(m.name === 'loss' ? { loss: m.value } : {}) };
        pulse.beat({ ...beat });
      },
      onCheckpoint: async (cp) => {
        const uploaded = await uploadFolder(deps.store, cp.dir);
        beat = { ...beat, checkpointUri: uploaded.uri, checkpointEpoch: cp.epoch };
        pulse.beat({ ...beat });
      },
    });
    await writeServingDescription(outputDir, input.data, task, featureStats, input.serve);
    const outputs = await uploadFolder(deps.store, outputDir);
    const historyRef = await deps.store.putJson(history);
    return {
      modelUri: outputs.uri,
      historyUri: historyRef.uri,
      outputs: outputs.files,
      epochs: result.lastEpoch,
      resumedFrom,
      reportedMetrics: result.metrics,
      task,
      ...(history.length ? { finalLoss: history[history.length - 1]?.loss } : {}),
    };
  } finally {
    gpus.release(device);
  }
}
