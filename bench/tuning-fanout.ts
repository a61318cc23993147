/**
 * Fan-out efficiency of tuning studies: N trials of ~1 s synthetic work at concurrency C on one
 * worker, through the real `tuningStudy` / `tuningTrial` workflows. The trial activity is replaced
 * by a sleep (activities are plain functions handed to the worker), so what is measured is the
 * orchestration: wall time / ideal (N × 1 s / C), target ≤ 1.10 (the floor is 13 s / 12.5 s = 1.04: some slot runs 13 trials).
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
import { loadWorkflowBundle } from '../src/worker/workflow-bundle';
import { syntheticStudyActivities, syntheticStudyInput } from './fanout-study';
import type { StudyInput } from '../workflows/tuning-study';
import { median } from './bench-services';

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
const TARGET = 1.1;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-fanout-'));
  const binary = (await resolveBinary(TEMPORAL_CLI, env)).path;
  const server = await startTemporalDevServer({ binary, host: '127.0.0.1', port: await freePort(), uiPort: 0, ui: false, dbFile: path.join(dir, 't.db'), logDir: dir, namespace: 'default' });
  try {
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection,
      taskQueue: QUEUE,
      workflowBundle: await loadWorkflowBundle(),
      maxConcurrentActivityTaskExecutions: concurrency * 2,
      activities: syntheticStudyActivities(workMs),
    });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const input = (i: number): StudyInput => syntheticStudyInput({ trials, concurrency, seed: i, queue: QUEUE });
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
    const out = { bench: 'tuning-fanout', trials, concurrency, workMs, runs, idealS: ideal, wallS: walls, medianWallS: median(walls), medianRatio: median(ratios), target: TARGET, met: median(ratios) <= TARGET };
    console.log(`median: ${out.medianWallS.toFixed(2)} s, wall/ideal ${out.medianRatio.toFixed(3)}× (target ≤ ${TARGET}: ${out.met ? 'met' : 'MISSED'})`);
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
