import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { recordTrainingResume } from '../src/observability/activity-telemetry';
import { runCommandTrainer } from '../src/training/command-trainer';
import { encode, fitEncoder } from '../src/training/features';
import { createModelArtifact } from '../src/training/model-artifact';
import { runTraining, type Checkpoint, type TrainerName } from '../src/training/trainers';
import type { DatasetRef, TrainResult } from '../workflows/pipeline-types';
import { loadSplitRows } from './dataset-loader';
import type { ActivityDeps } from './deps';
import { downloadFolder, uploadFolder } from './folder-artifacts';
import { GpuPool } from './gpu-pool';
import { asActivityFailure } from './failures';
import { createStepCache, stepCacheKey } from './step-cache';
import { writeServingDescription, writeTrainerData } from './command-data';
import { resolveTask } from '../src/training/task-type';
import { waitForStore } from './store-wait';

export interface TrainInput {
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  train: PipelineSpec['train'];
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
      const seed = seedOf(input);
      const key = stepCacheKey('train', {
        code: input.codeVersion,
        sha256: input.dataset.sha256,
        data: input.data,
        trainer: input.train.trainer,
        command: input.train.command,
        params: input.train.params,
        seed,
      });
      // An attempt that starts during a storage outage waits it out instead of failing at once.
      await waitForStore(ctx, deps.store, input.dataset.uri, ctx.info.heartbeatDetails);
      if (input.cache) {
        const hit = await cache.get<Omit<TrainResult, 'cached' | 'attempt'>>('train', key);
        if (hit) return { ...hit, resumedFrom: 0, cached: true, attempt: ctx.info.attempt };
      }
      const previous = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'train-'));
      try {
        const output =
          input.train.trainer === 'command'
            ? await trainWithCommand(deps, ctx, input, scratch, previous, gpus)
            : await trainBuiltin(deps, ctx, input, scratch, previous, seed);
        await cache.put('train', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

type TrainOutput = Omit<TrainResult, 'cached' | 'attempt'>;

async function trainBuiltin(deps: ActivityDeps, ctx: Context, input: TrainInput, scratch: string, previous: TrainHeartbeat | undefined, seed: number): Promise<TrainOutput> {
  const { train: trainRows, test: testRows } = await loadSplitRows(deps, input.dataset, input.data, scratch);
  const encoder = fitEncoder({ schema: input.data.schema, target: input.data.target, rows: trainRows });
  const data = encode(encoder, trainRows);
  const validation = encode(encoder, testRows);

  let resumeFrom: Checkpoint | undefined;
  if (previous?.checkpointUri) {
    resumeFrom = await deps.store.getJson<Checkpoint>(previous.checkpointUri);
    recordTrainingResume(input.train.trainer, resumeFrom.epoch, previous.checkpointUri);
  }
  const resumedFrom = resumeFrom?.epoch ?? 0;
  let beat: TrainHeartbeat = { done: resumedFrom, total: 0, resumedFrom, ...(previous?.checkpointUri ? { checkpointUri: previous.checkpointUri, checkpointEpoch: resumedFrom } : {}) };

  const result = await runTraining({
    trainer: input.train.trainer as TrainerName,
    data,
    validation,
    params: paramsWithoutSeed(input.train.params),
    seed,
    resumeFrom,
    checkpointEvery: input.train.checkpointEvery,
    signal: ctx.cancellationSignal,
    onEpoch: (epoch, total, metrics) => {
      beat = { ...beat, done: epoch, total, loss: metrics.loss };
      ctx.heartbeat(beat);
    },
    onCheckpoint: async (checkpoint) => {
      const ref = await deps.store.putJson(checkpoint);
      // Only after the upload: a heartbeat must never point at a checkpoint that is not there.
      beat = { ...beat, checkpointUri: ref.uri, checkpointEpoch: checkpoint.epoch };
      ctx.heartbeat(beat);
    },
  });
  const model = await deps.store.putJson(createModelArtifact(encoder, result.state));
  const history = await deps.store.putJson(result.history);
  return {
    modelUri: model.uri,
    historyUri: history.uri,
    epochs: result.state.epoch,
    resumedFrom: result.resumedFromEpoch,
    finalLoss: result.history.at(-1)?.loss,
  };
}

async function trainWithCommand(
  deps: ActivityDeps,
  ctx: Context,
  input: TrainInput,
  scratch: string,
  previous: TrainHeartbeat | undefined,
  gpus: GpuPool,
): Promise<TrainOutput> {
  const resumedFrom = previous?.checkpointEpoch ?? 0;
  let beat: TrainHeartbeat = { done: resumedFrom, total: 0, resumedFrom, ...(previous?.checkpointUri ? { checkpointUri: previous.checkpointUri, checkpointEpoch: resumedFrom } : {}) };
  // The program may be silent for long (data preparation, importing torch, a long first epoch):
  // heartbeat the latest details on a timer so only a dead worker misses the heartbeat timeout.
  const keepAlive = setInterval(() => ctx.heartbeat(beat), 5_000);
  try {
    return await runCommandStep();
  } finally {
    clearInterval(keepAlive);
  }

  async function runCommandStep(): Promise<TrainOutput> {
    const task = resolveTask(input.data, input.train);
    const dataEnv = await writeTrainerData(deps, input.dataset, input.data, task, path.join(scratch, 'data'));
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
        env: {
          ...dataEnv,
          ...(resumeDir ? { MLCYCLE_RESUME_EPOCH: String(resumedFrom) } : {}),
          MLCYCLE_DATA_FORMAT: input.dataset.format,
          MLCYCLE_TARGET: input.data.target,
          MLCYCLE_SPLIT_TEST: String(input.data.split.test),
          MLCYCLE_SPLIT_SEED: String(input.data.split.seed),
        },
        params: input.train.params,
        outputDir,
        checkpointDir,
        resumeFrom: resumeDir,
        gpuDevice: device,
        signal: ctx.cancellationSignal,
        onMetric: (m) => {
          if (m.name === 'loss' && m.epoch !== undefined) history.push({ epoch: m.epoch, loss: m.value });
          beat = { ...beat, done: m.epoch ?? beat.done, total: m.total ?? beat.total, ...(m.name === 'loss' ? { loss: m.value } : {}) };
          ctx.heartbeat(beat);
        },
        onCheckpoint: async (cp) => {
          const uploaded = await uploadFolder(deps.store, cp.dir);
          beat = { ...beat, checkpointUri: uploaded.uri, checkpointEpoch: cp.epoch };
          ctx.heartbeat(beat);
        },
      });
      await writeServingDescription(outputDir, input.data, task);
      const outputs = await uploadFolder(deps.store, outputDir);
      const historyRef = await deps.store.putJson(history);
      return {
        modelUri: outputs.uri,
        historyUri: historyRef.uri,
        outputs: outputs.files,
        epochs: result.lastEpoch,
        resumedFrom,
        reportedMetrics: result.metrics,
        ...(history.length ? { finalLoss: history[history.length - 1]?.loss } : {}),
      };
    } finally {
      gpus.release(device);
    }
  }
}
