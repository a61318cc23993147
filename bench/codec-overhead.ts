/**
 * What payload encryption (AesGcmPayloadCodec, AES-256-GCM) costs. Two measurements, each the
 * median of --runs runs against a baseline measured in the same run:
 *
 * 1. Codec micro-benchmark: a payload's round trip — default payload converter (JSON) to a Payload,
 *    codec encode, codec decode, back from JSON — versus the JSON converter alone, for a
 *    PipelineInput (built the way MlcycleClient.pipelineInput builds one from
 *    examples/churn/pipeline.yaml) and a training heartbeat. µs per payload and the ratio.
 * 2. End to end: the same workflow of --steps sequential no-op activities
 *    (bench/orchestration's bareNoopWorkflow) with client and worker both on
 *    mlcycleDataConverter(keyring) versus mlcycleDataConverter(undefined), in-process workers
 *    against a dev server from the cached `temporal` binary. ms per activity and the ratio
 *    encrypted/plain; target ≤ 1.05×.
 *
 *   npx tsx bench/codec-overhead.ts [--runs 5] [--steps 20] [--warmup 1] [--state-dir /dev/shm]
 *
 * bareNoopWorkflow pins its activities to one task queue, so the two variants run in two
 * namespaces of the same dev server (start-dev always creates `default`; the bench adds its own),
 * each with its own worker, and rounds alternate which variant goes first.
 * --state-dir is where the dev server's SQLite file goes (default: the OS temp folder, a real disk,
 * like `mlcycle dev`); /dev/shm takes fsync latency out of the baseline (on the 2-core machine the
 * README numbers come from it made no difference: ~102 ms/activity either way).
 * The end-to-end payloads are small (the activity's index and {cached, attempt}); the
 * micro-benchmark is where payload size shows.
 * Prints a table and a final JSON line. Exits non-zero only on errors, never on a missed target.
 */
import { isDeepStrictEqual } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { withBenchDevServer } from './bench-dev-server';
import { MlcycleClient } from '../src/client/mlcycle-client';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../src/codec/aes-gcm-codec';
import { FAILURE_CONVERTER_PATH, mlcycleDataConverter } from '../src/codec/data-converter';
import { generateKeyringFile, parseKeyring, type Keyring } from '../src/codec/keyring';
import { loadPipelineSpec } from '../src/spec/pipeline-spec';
import { quietLogger } from '../src/worker/workflow-bundle';
import type { PipelineInput } from '../workflows/pipeline-types';
import { arg, positiveInt } from './cli-args';
import * as activities from './orchestration/activities';
import { BENCH_TASK_QUEUE } from './orchestration/shared';
import { runBench } from './bench-services';

const TARGET_RATIO = 1.05;
/** Each micro-benchmark sample runs for about this long per variant and payload. */
const MICRO_SAMPLE_MS = 150;
const BENCH_NAMESPACE = 'mlcycle-bench-codec';
const WORKFLOW = 'bareNoopWorkflow';

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (l: string) => process.stderr.write(`${l}\n`);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------- 1. codec micro-benchmark

/** A pipeline's input exactly as MlcycleClient.pipelineInput builds it (no server needed for that). */
async function churnPipelineInput(): Promise<PipelineInput> {
  const loaded = await loadPipelineSpec(path.join(__dirname, '..', 'examples', 'churn', 'pipeline.yaml'));
  const shell = { options: { address: 'unused', namespace: 'default' }, queues: MlcycleClient.prototype.queues };
  return MlcycleClient.prototype.pipelineInput.call(shell as unknown as MlcycleClient, loaded);
}

/** A training attempt's heartbeat (activities/train.ts TrainHeartbeat) mid-run. */
const HEARTBEAT = {
  done: 35,
  total: 50,
  loss: 0.41237719,
  checkpointUri: 's3://mlcycle/checkpoints/churn/churn-train-3f9a1c2e/train/attempt-1/epoch-35.json',
  checkpointEpoch: 35,
  resumedFrom: 0,
};

type RoundTrip = (value: unknown) => Promise<unknown>;

/** iterations round trips; returns µs per payload. */
async function timeRoundTrips(roundTrip: RoundTrip, value: unknown, iterations: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await roundTrip(value);
  return ((performance.now() - t0) * 1000) / iterations;
}

async function microBenchmark(keyring: Keyring, runs: number) {
  const codec = new AesGcmPayloadCodec(keyring);
  const plain: RoundTrip = async (v) => defaultPayloadConverter.fromPayload(defaultPayloadConverter.toPayload(v));
  // The SDK awaits the codec per batch of payloads; a batch of one is the common case (one argument, one result).
  const encrypted: RoundTrip = async (v) => {
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload(v)]);
    const [dec] = await codec.decode([enc as Payload]);
    return defaultPayloadConverter.fromPayload(dec as Payload);
  };

  const input = await churnPipelineInput();
  const payloads = [
    { name: 'PipelineInput (churn)', value: input as unknown },
    { name: 'heartbeat', value: HEARTBEAT as unknown },
  ];

  const results = [];
  for (const p of payloads) {
    // Correctness first: the round trip gives the value back, and the wire form hides it.
    const [wire] = await codec.encode([defaultPayloadConverter.toPayload(p.value)]);
    if (Buffer.from(wire!.metadata!.encoding!).toString() !== ENCRYPTED_ENCODING) throw new Error(`${p.name}: codec did not encrypt`);
    if (Buffer.from(wire!.data!).includes(Buffer.from('"done"')) || Buffer.from(wire!.data!).includes(Buffer.from('churn'))) {
      throw new Error(`${p.name}: plaintext visible in the encrypted payload`);
    }
    if (!isDeepStrictEqual(await encrypted(p.value), p.value)) throw new Error(`${p.name}: encrypted round trip changed the value`);
    const jsonBytes = defaultPayloadConverter.toPayload(p.value).data!.length;

    // Calibrate iterations so one sample takes about MICRO_SAMPLE_MS, after a warm-up of both paths.
    for (const f of [plain, encrypted]) await timeRoundTrips(f, p.value, 2000);
    const perIterUs = await timeRoundTrips(encrypted, p.value, 2000);
    const iterations = Math.max(1000, Math.round((MICRO_SAMPLE_MS * 1000) / perIterUs));

    const samples = { plain: [] as number[], encrypted: [] as number[] };
    for (let r = 0; r < runs; r++) {
      // Alternate which path goes first so drift (GC, frequency) hits both alike.
      const order = r % 2 === 0 ? (['plain', 'encrypted'] as const) : (['encrypted', 'plain'] as const);
      for (const v of order) samples[v].push(await timeRoundTrips(v === 'plain' ? plain : encrypted, p.value, iterations));
    }
    const plainUs = median(samples.plain);
    const encUs = median(samples.encrypted);
    results.push({
      payload: p.name,
      jsonBytes,
      wireBytes: wire!.data!.length,
      iterations,
      plainUs: round(plainUs),
      encryptedUs: round(encUs),
      addedUs: round(encUs - plainUs),
      ratio: round(encUs / plainUs, 3),
    });
  }
  return results;
}

// ---------------------------------------------------------------- 2. end to end

interface Variant {
  name: 'plain' | 'encrypted';
  client: Client;
}

async function runOnce(v: Variant, n: number, id: string): Promise<number> {
  const t0 = performance.now();
  const handle = await v.client.workflow.start(WORKFLOW, { taskQueue: BENCH_TASK_QUEUE, workflowId: id, args: [n] });
  const attempts = await handle.result();
  const wallMs = performance.now() - t0;
  if (attempts !== n) throw new Error(`${v.name}: expected ${n} first-attempt activities, got attempt sum ${attempts}`);
  return wallMs;
}

/** The encoding of the workflow's input as the server stored it: proves which variant encrypts. */
async function storedInputEncoding(v: Variant, id: string): Promise<string> {
  const history = await v.client.workflow.getHandle(id).fetchHistory();
  const started = history.events?.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
  const enc = started?.input?.payloads?.[0]?.metadata?.encoding;
  return enc ? Buffer.from(enc).toString('utf8') : '(none)';
}

async function endToEnd(keyring: Keyring, opts: { runs: number; steps: number; warmup: number; stateDir: string }) {
  // start-dev creates `default` and ours: one namespace per variant.
  return withBenchDevServer({ stateDir: opts.stateDir, dirPrefix: 'mlcycle-bench-codec-', namespace: BENCH_NAMESPACE, log }, async ({ nativeConnection, connection }) => {
    // As the mlcycle worker bundles: with the failure converter both data converters name.
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'orchestration', 'workflows.ts'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: quietLogger,
    });

    const setups = [
      { name: 'plain' as const, namespace: 'default', dataConverter: mlcycleDataConverter(undefined) },
      { name: 'encrypted' as const, namespace: BENCH_NAMESPACE, dataConverter: mlcycleDataConverter(keyring) },
    ];
    const workers: Worker[] = [];
    const variants: Variant[] = [];
    for (const s of setups) {
      workers.push(
        await Worker.create({
          connection: nativeConnection,
          namespace: s.namespace,
          taskQueue: BENCH_TASK_QUEUE,
          workflowBundle: { code },
          activities,
          dataConverter: s.dataConverter,
        }),
      );
      variants.push({ name: s.name, client: new Client({ connection, namespace: s.namespace, dataConverter: s.dataConverter }) });
    }

    const wall = { plain: [] as number[], encrypted: [] as number[] };
    const storedEncoding: Record<string, string> = {};
    const body = async () => {
      const stamp = Date.now().toString(36);
      for (let w = 0; w < opts.warmup; w++) {
        for (const v of variants) {
          const id = `bench-codec-warmup-${v.name}-${w}-${stamp}`;
          await runOnce(v, opts.steps, id);
          storedEncoding[v.name] ??= await storedInputEncoding(v, id);
        }
      }
      if (storedEncoding.encrypted !== ENCRYPTED_ENCODING || storedEncoding.plain === ENCRYPTED_ENCODING) {
        throw new Error(`the server stored unexpected encodings: ${JSON.stringify(storedEncoding)}`);
      }
      log(`warmed up; measuring ${opts.runs} rounds of ${opts.steps} activities per variant, alternating`);
      for (let r = 0; r < opts.runs; r++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(r + k) % variants.length]!;
          wall[v.name].push((await runOnce(v, opts.steps, `bench-codec-${v.name}-${r}-${stamp}`)) / opts.steps);
        }
      }
    };
    await workers[0]!.runUntil(() => workers[1]!.runUntil(body));

    const plainMs = median(wall.plain);
    const encMs = median(wall.encrypted);
    return {
      plainMsPerActivity: round(plainMs),
      encryptedMsPerActivity: round(encMs),
      addedMsPerActivity: round(encMs - plainMs, 3),
      ratio: round(encMs / plainMs, 3),
      samples: { plain: wall.plain.map((x) => round(x)), encrypted: wall.encrypted.map((x) => round(x)) },
      storedEncoding,
    };
  });
}

// ---------------------------------------------------------------- main

function usage(): string {
  return 'usage: npx tsx bench/codec-overhead.ts [--runs 5] [--steps 20] [--warmup 1] [--state-dir DIR]';
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const runs = positiveInt('--runs', 5);
  const steps = positiveInt('--steps', 20);
  const warmup = positiveInt('--warmup', 1);
  const stateDir = arg('--state-dir') ?? os.tmpdir();
  const keyring = parseKeyring(generateKeyringFile(), 'bench (generated key)');

  const t0 = performance.now();
  const micro = await microBenchmark(keyring, runs);
  log(`codec micro-benchmark done in ${Math.round(performance.now() - t0)} ms`);
  const e2e = await endToEnd(keyring, { runs, steps, warmup, stateDir });
  const withinTarget = e2e.ratio <= TARGET_RATIO;

  const pad = (s: string | number, w: number) => String(s).padStart(w);
  const lines = [
    '',
    `codec overhead: medians of ${runs} runs, ${os.cpus().length} CPUs, node ${process.version}`,
    '',
    `1. payload round trip (to JSON payload → encode → decode → from JSON) vs JSON converter only, µs/payload`,
    `${'payload'.padEnd(24)}${pad('JSON B', 8)}${pad('wire B', 8)}${pad('plain µs', 10)}${pad('AES-GCM µs', 12)}${pad('added µs', 10)}${pad('ratio', 8)}`,
    ...micro.map(
      (m) =>
        `${m.payload.padEnd(24)}${pad(m.jsonBytes, 8)}${pad(m.wireBytes, 8)}${pad(m.plainUs.toFixed(2), 10)}${pad(m.encryptedUs.toFixed(2), 12)}${pad(m.addedUs.toFixed(2), 10)}${pad(`${m.ratio}×`, 8)}`,
    ),
    '',
    `2. end to end: ${steps} no-op activities per workflow, client + worker on mlcycleDataConverter(keyring) vs (undefined), db in ${stateDir}`,
    `${'variant'.padEnd(24)}${pad('ms/activity', 12)}   runs`,
    `${'plain'.padEnd(24)}${pad(e2e.plainMsPerActivity.toFixed(2), 12)}   ${e2e.samples.plain.join(' ')}`,
    `${'encrypted'.padEnd(24)}${pad(e2e.encryptedMsPerActivity.toFixed(2), 12)}   ${e2e.samples.encrypted.join(' ')}`,
    '',
    `encrypted/plain end to end: ${e2e.ratio}× (${e2e.addedMsPerActivity >= 0 ? '+' : ''}${e2e.addedMsPerActivity} ms/activity) — target ≤ ${TARGET_RATIO}×: ${withinTarget ? 'MET' : 'MISSED'}`,
  ];
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      bench: 'codec-overhead',
      runs,
      steps,
      warmup,
      stateDir,
      cpus: os.cpus().length,
      node: process.version,
      target: TARGET_RATIO,
      withinTarget,
      micro,
      endToEnd: e2e,
    }),
  );
}

runBench(main);
