/**
 * Bring-your-own-framework benchmarks, on the scikit-learn example (examples/sklearn-churn) and the
 * generated churn data, against one freshly started MinIO:
 *
 * 1. Command-trainer overhead: wall time of the train step run by mlcycle (the trainModel activity:
 *    dataset download, Parquet splits for the kit, spawn, line protocol, output upload) versus the
 *    same `python train.py` run directly on splits written beforehand. Target: ≤ 1.2× + 2 s.
 * 2. /predict throughput of the exported ONNX model versus the built-in gradient-boosting model with
 *    matched settings (100 trees, depth 3, learning rate 0.1), each served by mlcycle's prediction
 *    server exactly as `mlcycle serve` runs it, one row per request, autocannon in a child process.
 *    Target: ONNX ≥ 0.7× the built-in model's req/s.
 *
 *   npx tsx bench/byo-framework.ts [--rows 5000] [--runs 3] [--duration 10] [--connections 16]
 *
 * Needs the trainer venv (scripts/python-venv.sh trainer python/requirements.txt; made if missing).
 * Medians over the runs; the measured variants alternate. Prints `uptime` load, the tables and
 * one JSON line last.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { writeTrainerData } from '../activities/command-data';
import type { ActivityDeps } from '../activities/deps';
import { createIngestActivities } from '../activities/ingest';
import { createTrainActivities } from '../activities/train';
import { workerPermissions } from '../src/worker/worker-permissions';
import type { DatasetRef } from '../workflows/pipeline-types';
import { EMBEDDED_S3_CREDENTIALS } from '../src/config/env';
import { writeDemoDataset } from '../src/demo/demo-data';
import { createModelRegistry } from '../src/registry/model-registry';
import { createPredictionServer, type PredictionServer } from '../src/serving/prediction-server';
import { loadPipelineSpec } from '../src/spec/pipeline-spec';
import type { RunningMinio } from '../src/stack/minio-server';
import { createArtifactStore } from '../src/storage/artifact-store';
import { createS3Client, ensureBucket } from '../src/storage/s3-client';
import { positiveInt } from './cli-args';
import { registerModel, requestRows, trainChurnModel } from '../test/serving/fixtures';
import { median, runAutocannon, startBenchMinio, type LoadResult } from './bench-services';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'sklearn-churn');
const BUCKET = 'bench';

function runDirect(python: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['train.py'], { cwd: EXAMPLE, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`train.py exited ${code}: ${stderr}`))));
  });
}

async function main(): Promise<void> {
  const rows = positiveInt('--rows', 5000);
  const runs = positiveInt('--runs', 3);
  const durationS = positiveInt('--duration', 10);
  const connections = positiveInt('--connections', 16);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlcycle-byo-bench-'));
  let minio: RunningMinio | undefined;
  let client: S3Client | undefined;
  const servers: PredictionServer[] = [];
  try {
    console.log(`load before: ${execFileSync('uptime').toString().trim()}`);
    const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'python-venv.sh'), 'trainer', 'python/requirements.txt'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const python = stdout.trim().split('\n').at(-1)!;

    minio = await startBenchMinio(dir);
    client = createS3Client({ endpoint: minio.endpoint, region: 'us-east-1', bucket: BUCKET, prefix: '', credentials: { ...EMBEDDED_S3_CREDENTIALS } });
    await ensureBucket(client, BUCKET);
    const store = createArtifactStore({ client, bucket: BUCKET, prefix: '' });
    const registry = createModelRegistry({ store });

    const csv = path.join(dir, 'churn.csv');
    await writeDemoDataset(csv, { rows, seed: 7 });
    const { spec } = await loadPipelineSpec(path.join(EXAMPLE, 'pipeline.yaml'));
    const deps: ActivityDeps = { store, s3: client, workDir: dir, queue: 'cpu', gpuDevices: [], permissions: workerPermissions({ dataRoot: [dir] }) };
    // Ingested as a pipeline would: the dataset version with its columnar snapshot (the trainer's splits come from it).
    const ingest = createIngestActivities(deps);
    const { dataset } = (await new MockActivityEnvironment().run<[Parameters<typeof ingest.ingestDataset>[0]], { dataset: DatasetRef }, typeof ingest.ingestDataset>(ingest.ingestDataset, { source: `file://${csv}`, schema: spec.data.schema, target: spec.data.target, codeVersion: 'bench', cache: false }));
    const train = createTrainActivities(deps);
    const input = {
      dataset,
      data: spec.data,
      train: { ...spec.train, command: [python, 'train.py'] },
      specDir: EXAMPLE,
      codeVersion: 'bench',
      cache: false,
    };
    // The direct run gets the same splits, written once beforehand (not timed).
    const { env: direct } = await writeTrainerData(deps, dataset, spec.data, 'binary', path.join(dir, 'direct-data'));

    // ---- 1. overhead ---------------------------------------------------------------------------
    const viaMlcycle: number[] = [];
    const directly: number[] = [];
    let modelUri = '';
    for (let r = 0; r < runs; r++) {
      for (const variant of r % 2 === 0 ? (['mlcycle', 'direct'] as const) : (['direct', 'mlcycle'] as const)) {
        const t0 = performance.now();
        if (variant === 'mlcycle') {
          modelUri = (await new MockActivityEnvironment().run<[typeof input], { modelUri: string }, typeof train.trainModel>(train.trainModel, input)).modelUri;
          viaMlcycle.push((performance.now() - t0) / 1000);
        } else {
          const out = await mkdtemp(path.join(dir, 'direct-out-'));
          await runDirect(python, { ...direct, MLCYCLE_OUTPUT_DIR: out, MLCYCLE_CHECKPOINT_DIR: path.join(out, 'ckpt') });
          directly.push((performance.now() - t0) / 1000);
        }
      }
      console.log(`run ${r + 1}: via mlcycle ${viaMlcycle.at(-1)!.toFixed(2)} s, direct ${directly.at(-1)!.toFixed(2)} s`);
    }
    const m = median(viaMlcycle);
    const d = median(directly);
    const overhead = { viaMlcycleS: m, directS: d, ratio: m / d, budgetS: 1.2 * d + 2, met: m <= 1.2 * d + 2 };
    console.log(`train step medians: via mlcycle ${m.toFixed(2)} s, direct ${d.toFixed(2)} s → ${overhead.ratio.toFixed(2)}×; budget 1.2×+2 s = ${overhead.budgetS.toFixed(2)} s: ${overhead.met ? 'met' : 'NOT met'}`);

    // ---- 2. /predict throughput ------------------------------------------------------------------
    const onnxVersion = (
      await registry.register({
        name: 'byo-onnx',
        modelUri,
        metrics: {},
        reports: {},
        idempotencyKey: 'bench-onnx',
        lineage: { datasetSha256: dataset.sha256, datasetUri: dataset.uri, manifestUri: 's3://bench/none', codeVersion: 'bench', trainer: 'command', params: {}, workflowId: 'bench', runId: 'bench' },
      })
    ).version.version;
    await registry.setAlias('byo-onnx', 'production', onnxVersion, { actor: 'bench' });
    const gb = await trainChurnModel({ trainer: 'gradient-boosting', params: { epochs: 100, maxDepth: 3, learningRate: 0.1 }, rows, seed: 7 });
    const gbVersion = await registerModel(store, registry, 'byo-builtin', gb, 'bench-gb');
    await registry.setAlias('byo-builtin', 'production', gbVersion, { actor: 'bench' });
    const urls: Record<'onnx' | 'builtin', string> = { onnx: '', builtin: '' };
    for (const [variant, model] of [['onnx', 'byo-onnx'], ['builtin', 'byo-builtin']] as const) {
      const server = createPredictionServer({ store, registry, model, log: () => undefined });
      servers.push(server);
      urls[variant] = `${(await server.start()).url}/predict`;
    }
    const body = JSON.stringify({ rows: requestRows(1) });
    for (const v of ['onnx', 'builtin'] as const) {
      const res = await fetch(urls[v], { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`${v} answered ${res.status}: ${await res.text()}`);
      await runAutocannon(urls[v], body, connections, Math.min(2, durationS)); // warm-up
    }
    const loads: Record<'onnx' | 'builtin', LoadResult[]> = { onnx: [], builtin: [] };
    for (let r = 0; r < runs; r++) {
      for (const v of r % 2 === 0 ? (['onnx', 'builtin'] as const) : (['builtin', 'onnx'] as const)) {
        const l = await runAutocannon(urls[v], body, connections, durationS);
        if (l.non2xx || l.errors) throw new Error(`${v}: ${l.non2xx} non-2xx, ${l.errors} errors`);
        loads[v].push(l);
        console.log(`run ${r + 1} ${v.padEnd(7)} ${l.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${l.p50Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms`);
      }
    }
    const sum = (v: 'onnx' | 'builtin') => ({ reqPerSec: median(loads[v].map((l) => l.reqPerSec)), p99Ms: median(loads[v].map((l) => l.p99Ms)), p50Ms: median(loads[v].map((l) => l.p50Ms)) });
    const onnx = sum('onnx');
    const builtin = sum('builtin');
    const ratio = onnx.reqPerSec / builtin.reqPerSec;
    console.log(`/predict medians: ONNX ${onnx.reqPerSec.toFixed(0)} req/s (p99 ${onnx.p99Ms.toFixed(2)} ms), built-in GB ${builtin.reqPerSec.toFixed(0)} req/s (p99 ${builtin.p99Ms.toFixed(2)} ms) → ${ratio.toFixed(2)}×; target ≥ 0.7×: ${ratio >= 0.7 ? 'met' : 'NOT met'}`);
    console.log(`load after: ${execFileSync('uptime').toString().trim()}`);
    console.log(JSON.stringify({ bench: 'byo-framework', rows, runs, durationS, connections, cpus: os.cpus().length, overhead, predict: { onnx, builtin, ratio: Number(ratio.toFixed(4)), met: ratio >= 0.7 } }));
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    client?.destroy();
    await minio?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
