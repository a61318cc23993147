import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { paramEnvName, parseProtocolLine, runCommandTrainer, type CheckpointEvent, type MetricEvent } from '../../src/training/command-trainer';

/** A tiny training program: what it does depends on its first argument. */
const SCRIPT = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const mode = process.argv[2];
const say = (msg) => console.log('MLCYCLE ' + JSON.stringify(msg));
if (mode === 'ok') {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('MLCYCLE_') || k === 'CUDA_VISIBLE_DEVICES' || k === 'EXTRA') env[k] = v;
  env.paramsFromFile = JSON.parse(fs.readFileSync(process.env.MLCYCLE_PARAMS_FILE, 'utf8'));
  env.cwd = process.cwd();
  fs.writeFileSync(path.join(process.env.MLCYCLE_OUTPUT_DIR, 'env.json'), JSON.stringify(env));
  console.log('starting training');
  for (let epoch = 1; epoch <= 3; epoch++) {
    say({ type: 'metric', epoch, total: 3, name: 'loss', value: 1 / epoch });
    say({ type: 'metric', epoch, total: 3, name: 'val_auc', value: 0.5 + epoch / 10 });
    if (epoch === 2) {
      const dir = path.join(process.env.MLCYCLE_CHECKPOINT_DIR, 'epoch-2');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'weights.json'), '[1,2,3]');
      say({ type: 'checkpoint', epoch: 2, path: 'epoch-2' });
    }
  }
  console.log('MLCYCLE {not json');
  say({ type: 'metric', name: 'loss', value: 'NaN' });
  say({ type: 'future-thing', x: 1 });
  say({ type: 'checkpoint', epoch: 3, path: '../../escape' });
  console.error('a warning on stderr');
  process.stdout.write('last line without newline');
} else if (mode === 'fail') {
  for (let i = 1; i <= 60; i++) console.log('out-' + String(i).padStart(3, '0'));
  console.error('Traceback: something broke');
  process.exit(3);
} else if (mode === 'hang' || mode === 'stubborn') {
  fs.writeFileSync(process.argv[3], String(process.pid));
  if (mode === 'stubborn') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  say({ type: 'metric', epoch: 1, total: 100, name: 'loss', value: 0.9 });
  setInterval(() => {}, 1000);
} else if (mode === 'checkpoint') {
  say({ type: 'checkpoint', epoch: 1 });
  setInterval(() => {}, 1000);
}
`;

let dir: string;
let script: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-cmd-test-'));
  script = path.join(dir, 'train.js');
  await fs.writeFile(script, SCRIPT);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(file: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    try {
      const text = await fs.readFile(file, 'utf8');
      if (text !== '') return text;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} never appeared`);
}

describe('runCommandTrainer', () => {
  it('passes params and folders in the environment and parses the metrics protocol', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'ok-'));
    const metrics: MetricEvent[] = [];
    const checkpoints: Array<CheckpointEvent & { files: string[] }> = [];
    const output: string[] = [];
    const result = await runCommandTrainer({
      command: [process.execPath, script, 'ok'],
      cwd: work,
      env: { EXTRA: 'x' },
      params: { learningRate: 0.1, 'max-depth': 4, verbose: true, optimizer: 'adam' },
      outputDir: path.join(work, 'out'),
      checkpointDir: path.join(work, 'ckpt'),
      resumeFrom: path.join(work, 'ckpt', 'epoch-1'),
      gpuDevice: 1,
      onMetric: (m) => void metrics.push(m),
      onCheckpoint: async (c) => {
        checkpoints.push({ ...c, files: await fs.readdir(c.dir) });
      },
      onOutput: (line, stream) => void output.push(`${stream}:${line}`),
    });

    expect(metrics).toHaveLength(6);
    expect(metrics[0]).toEqual({ epoch: 1, total: 3, name: 'loss', value: 1 });
    expect(metrics[5]).toEqual({ epoch: 3, total: 3, name: 'val_auc', value: 0.8 });
    expect(result.metrics).toEqual({ loss: 1 / 3, val_auc: 0.8 });
    expect(result.lastEpoch).toBe(3);
    expect(checkpoints).toEqual([{ epoch: 2, dir: path.join(work, 'ckpt', 'epoch-2'), files: ['weights.json'] }]);
    expect(result.checkpoints).toEqual([{ epoch: 2, dir: path.join(work, 'ckpt', 'epoch-2') }]);

    // ordinary lines, malformed protocol lines and the escaping checkpoint path end up in the tail
    expect(result.tail).toContain('starting training');
    expect(result.tail).toContain('MLCYCLE {not json');
    expect(result.tail).toContain('MLCYCLE {"type":"metric","name":"loss","value":"NaN"}');
    expect(result.tail.some((l) => l.includes('outside MLCYCLE_CHECKPOINT_DIR'))).toBe(true);
    expect(result.tail).toContain('a warning on stderr');
    expect(result.tail).toContain('last line without newline');
    expect(result.tail.some((l) => l.includes('future-thing'))).toBe(false);
    expect(output).toContain('stderr:a warning on stderr');

    const env = JSON.parse(await fs.readFile(path.join(work, 'out', 'env.json'), 'utf8'));
    expect(env).toMatchObject({
      MLCYCLE_PARAM_LEARNINGRATE: '0.1',
      MLCYCLE_PARAM_MAX_DEPTH: '4',
      MLCYCLE_PARAM_VERBOSE: 'true',
      MLCYCLE_PARAM_OPTIMIZER: 'adam',
      MLCYCLE_OUTPUT_DIR: path.join(work, 'out'),
      MLCYCLE_CHECKPOINT_DIR: path.join(work, 'ckpt'),
      MLCYCLE_RESUME_FROM: path.join(work, 'ckpt', 'epoch-1'),
      CUDA_VISIBLE_DEVICES: '1',
      EXTRA: 'x',
      paramsFromFile: { learningRate: 0.1, 'max-depth': 4, verbose: true, optimizer: 'adam' },
      cwd: await fs.realpath(work),
    });
    // the params file is cleaned up afterwards
    await expect(fs.access(env.MLCYCLE_PARAMS_FILE)).rejects.toThrow();
  });

  it('fails with the exit status and the last 50 output lines', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'fail-'));
    const err = await runCommandTrainer({
      command: [process.execPath, script, 'fail'],
      outputDir: path.join(work, 'out'),
      checkpointDir: path.join(work, 'ckpt'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlcycleError);
    const e = err as MlcycleError;
    expect(e.code).toBe('TRAINING_FAILED');
    expect(e.message).toContain('exited with status 3');
    expect(e.message).toContain('Traceback: something broke');
    expect(e.message).toContain('out-060');
    expect(e.message).toContain('out-012'); // 49 stdout lines + 1 stderr line = the last 50
    expect(e.message).not.toContain('out-011');
  });

  it('fails clearly when the program cannot start', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'enoent-'));
    await expect(
      runCommandTrainer({ command: [path.join(work, 'no-such-program')], outputDir: path.join(work, 'o'), checkpointDir: path.join(work, 'c') }),
    ).rejects.toThrow(/cannot start training command .*ENOENT/);
  });

  it('abort stops the program with SIGTERM', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'abort-'));
    const pidFile = path.join(work, 'pid');
    const controller = new AbortController();
    const run = runCommandTrainer({
      command: [process.execPath, script, 'hang', pidFile],
      outputDir: path.join(work, 'out'),
      checkpointDir: path.join(work, 'ckpt'),
      signal: controller.signal,
      onMetric: () => controller.abort(new Error('cancelled by workflow')),
    });
    await expect(run).rejects.toThrow('cancelled by workflow');
    const pid = Number(await waitFor(pidFile));
    expect(alive(pid)).toBe(false);
  });

  it('abort escalates to SIGKILL when the program ignores SIGTERM', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'stubborn-'));
    const pidFile = path.join(work, 'pid');
    const controller = new AbortController();
    const started = Date.now();
    const run = runCommandTrainer({
      command: [process.execPath, script, 'stubborn', pidFile],
      outputDir: path.join(work, 'out'),
      checkpointDir: path.join(work, 'ckpt'),
      signal: controller.signal,
      killGraceMs: 300,
      onMetric: () => controller.abort(),
    });
    await expect(run).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(alive(Number(await waitFor(pidFile)))).toBe(false);
  });

  it('a failing onCheckpoint (upload) stops the program and rejects with that error', async () => {
    const work = await fs.mkdtemp(path.join(dir, 'cb-'));
    await expect(
      runCommandTrainer({
        command: [process.execPath, script, 'checkpoint'],
        outputDir: path.join(work, 'out'),
        checkpointDir: path.join(work, 'ckpt'),
        onCheckpoint: async (c) => {
          expect(c).toEqual({ epoch: 1, dir: path.join(work, 'ckpt') });
          throw new Error('S3 unavailable');
        },
      }),
    ).rejects.toThrow('S3 unavailable');
  });
});

describe('protocol helpers', () => {
  it('paramEnvName upper-cases and replaces other characters', () => {
    expect(paramEnvName('learningRate')).toBe('MLCYCLE_PARAM_LEARNINGRATE');
    expect(paramEnvName('max-depth')).toBe('MLCYCLE_PARAM_MAX_DEPTH');
  });
  it('parseProtocolLine', () => {
    expect(parseProtocolLine('MLCYCLE {"type":"metric","epoch":3,"total":10,"name":"loss","value":0.42}')).toEqual({
      kind: 'metric',
      event: { epoch: 3, total: 10, name: 'loss', value: 0.42 },
    });
    expect(parseProtocolLine('MLCYCLE {"type":"checkpoint","epoch":3}')).toEqual({ kind: 'checkpoint', epoch: 3 });
    expect(parseProtocolLine('MLCYCLE {"type":"checkpoint"}')).toBeUndefined();
    expect(parseProtocolLine('MLCYCLE [1]')).toBeUndefined();
    expect(parseProtocolLine('loss=0.4')).toBeUndefined();
  });
});
