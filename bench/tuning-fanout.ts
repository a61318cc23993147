/**
 * Fan-out efficiency of tuning studies: N trials of ~1 s synthetic work at concurrency C on one
 * worker, through the real `tuningStudy` / `tuningTrial` workflows. The trial activity is replaced
 * by a sleep (activities are plain functions handed to the worker), so what is measured is the
 * orchestration: wall time / ideal (N × 1 s / C), target ≤ 1.15.
 *
 *   npx tsx bench/tuning-fanout.ts [--trials 200] [--concurrency 16] [--work-ms 1000] [--runs 3]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { parseEnv } from '../src/config/env';
import { resolveBinary, TEMPORAL_CLI } from '../src/stack/binaries';
import { freePort } from '../src/stack/ports';
import { startTemporalDevServer } from '../src/stack/temporal-server';
import { parseTuneSpec } from '../src/tuning/tune-spec';
import { loadWorkflowBundle } from '../src/worker/workflow-bundle';
import type { TrialSegmentInput, TrialSegmentResult } from '../activities/tuning';
import type { StudyInput } from '../workflows/tuning-study';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    'work-ms': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
  },
});
const trials = Number(values.trials);
const concurrency = Number(values.concurrency);
const workMs = Number(values['work-ms']);
const runs = Number(values.runs);
const QUEUE = 'bench-fanout';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-fanout-'));
  const binary = (await resolveBinary(TEMPORAL_CLI, env)).path;
  const server = await startTemporalDevServer({ binary, host: '127.0.0.1', port: await freePort(), uiPort: 0, ui: false, dbFile: path.join(dir, 't.db'), logDir: dir, namespace: 'default' });
  try {
    const connection = await NativeConnection.connect({ address: server.address });
    let seq = 0;
    const worker = await Worker.create({
      connection,
      taskQueue: QUEUE,
      workflowBundle: await loadWorkflowBundle(),
      maxConcurrentActivityTaskExecutions: concurrency * 2,
      activities: {
        // Synthetic trial: ~workMs of "training", a deterministic metric.
        async trainTrialSegment(input: TrialSegmentInput): Promise<TrialSegmentResult> {
          await new Promise((r) => setTimeout(r, workMs));
          return { usedParams: input.params, epoch: 1, total: 1, metric: ((input.trialId * 7919) % 1000) / 1000, checkpointUri: 's3://bench/none', attempt: 1 };
        },
        async writeLeaderboard() {
          seq++;
          return { jsonUri: `s3://bench/leaderboard-${seq}.json`, htmlUri: `s3://bench/leaderboard-${seq}.html` };
        },
      },
    });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const tune = parseTuneSpec({ strategy: 'random', trials, concurrency, seed: 1, metric: 'auc', space: { learningRate: { loguniform: [0.001, 0.5] } } });
    const input = (i: number): StudyInput => ({
      name: 'bench',
      tune,
      data: { source: 'file:///dev/null', target: 'y', schema: { y: { type: 'boolean', required: true } }, split: { test: 0.2, validation: 0.1, seed: 1, stratify: false }, extraColumns: 'ignore' },
      trainer: 'logistic-regression',
      baseParams: {},
      seed: i,
      dataset: { uri: 's3://bench/none', sha256: '0'.repeat(64), size: 0, format: 'csv' },
      queues: { cpu: QUEUE, gpu: QUEUE },
      trainQueue: 'cpu',
      codeVersion: 'bench',
      cache: false,
      maxTrialsPerRun: 100,
    });
    const ideal = (trials * workMs) / 1000 / concurrency;
    const ratios: number[] = [];
    const walls: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const result = await client.workflow.execute('tuningStudy', { taskQueue: QUEUE, workflowId: `fanout-${r}-${Date.now()}`, args: [input(r)] });
      const wall = (performance.now() - t0) / 1000;
      const done = (result as { trials: unknown[] }).trials.length;
      if (done !== trials) throw new Error(`study ran ${done} trials, expected ${trials}`);
      walls.push(wall);
      ratios.push(wall / ideal);
      console.log(`run ${r + 1}: ${wall.toFixed(2)} s for ${trials} trials (ideal ${ideal.toFixed(2)} s) → ${(wall / ideal).toFixed(3)}×`);
    }
    const out = { bench: 'tuning-fanout', trials, concurrency, workMs, runs, idealS: ideal, wallS: walls, medianWallS: median(walls), medianRatio: median(ratios), target: 1.15, met: median(ratios) <= 1.15 };
    console.log(`median: ${out.medianWallS.toFixed(2)} s, wall/ideal ${out.medianRatio.toFixed(3)}× (target ≤ 1.15: ${out.met ? 'met' : 'MISSED'})`);
    console.log(JSON.stringify(out));
    worker.shutdown();
    await running;
    await connection.close();
  } finally {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
