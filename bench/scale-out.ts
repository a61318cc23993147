/**
 * Scale-out on the production topology: runs/minute of N concurrent runs of the example pipeline
 * (the spec of the topology suite's 30-run scenario) with 1, 2 and 4 cpu workers, on the stack of
 * test/topology (Temporal server 1.31.2 on PostgreSQL, MinIO erasure-coded over four folders,
 * `mlcycle cluster init`, `mlcycle worker` processes). The example trains on the cpu queue, so no
 * gpu worker takes part.
 *
 * Every worker group is started once, on its own task-queue prefix, and the rounds interleave the
 * groups (1, 2, 4, 1, 2, 4, …) so a drift of the machine's load spreads over all of them instead
 * of landing on one. A round starts its runs at once and ends when the last one has finished;
 * runs/minute = runs / wall minutes. Speed-up is each group's median over the 1-worker median of
 * the same invocation. Each round also records the CPU seconds per run of the round's workers,
 * the Temporal server, PostgreSQL, MinIO and this client (bench/process-cpu.ts), which says
 * whether the machine, not the number of workers, is what limits.
 *
 *   npx tsx bench/scale-out.ts [--rounds 3] [--runs 30] [--workers 1,2,4] [--concurrency 6] [--warmup 10] [--epochs 3]
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MlcycleClient } from '../src/client/mlcycle-client';
import { loadKeyring, type Keyring } from '../src/codec/keyring';
import { parseEnv } from '../src/config/env';
import { loadPipelineSpec, type LoadedSpec } from '../src/spec/pipeline-spec';
import type { ManagedProcess } from '../src/stack/managed-process';
import { runCliAsync } from '../test/helpers/cli';
import { SpecWorkspace } from '../test/helpers/specs';
import { startTopology, type Topology } from '../test/topology/topology-stack';
import { cleanupOnInterrupt, median, runBench } from './bench-services';
import { arg, positiveInt } from './cli-args';
import { childTreeCpuSeconds } from './process-cpu';

const KEY_FILE = path.join(__dirname, '..', 'test', 'fixtures', 'codec-keys.json');
const rounds = positiveInt('--rounds', 3);
const runs = positiveInt('--runs', 30);
const concurrency = positiveInt('--concurrency', 6);
const epochs = positiveInt('--epochs', 3);
const warmupRaw = arg('--warmup');
const warmup = warmupRaw === '0' ? 0 : positiveInt('--warmup', 10);
const workerCounts = (arg('--workers') ?? '1,2,4').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--workers expects a comma-separated list of positive integers, got "${arg('--workers')}"`);
    process.exit(2);
  }
  return n;
});

const say = (line: string) => process.stderr.write(`[scale-out] ${line}\n`);
const load1 = () => os.loadavg()[0]!;

interface Group {
  workers: number;
  prefix: string;
  client: MlcycleClient;
  procs: ManagedProcess[];
}

interface Round {
  runsPerMin: number;
  wallS: number;
  failed: string[];
  loadBefore: number;
  loadAfter: number;
  /** CPU seconds per run in the round, by component (the round's workers, the idle groups, each service, this client). */
  cpuPerRun: Record<string, number>;
}

const COMPONENTS = ['workers', 'temporal', 'postgres', 'minio', 'client', 'idle workers', 'other'] as const;

/** CPU seconds so far by component: `active` are the round's worker pids, `all` every worker pid. */
function cpuNow(active: Set<number>, all: Set<number>): Map<string, number> {
  // By the start of the (15-character) command name: the cached binaries carry their version.
  const service = (comm: string) => ['temporal', 'postgres', 'minio'].find((s) => comm.startsWith(s)) ?? 'other';
  const m = childTreeCpuSeconds((comm, pid) => (active.has(pid) ? 'workers' : all.has(pid) ? 'idle workers' : service(comm)));
  const own = process.cpuUsage();
  m.set('client', (own.user + own.system) / 1e6);
  return m;
}

async function waitReady(w: ManagedProcess, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (w.hasExited()) throw new Error(`worker ${w.name} exited: ${w.tail()}`);
    if (/worker ready/.test(w.tail(40))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`worker ${w.name} not ready after ${timeoutMs} ms: ${w.tail()}`);
}

/** `count` runs of `loaded` started at once on the group's queues; wall time until the last ends. */
async function round(group: Group, allPids: Set<number>, loaded: LoadedSpec, count: number, tag: string): Promise<Round> {
  const active = new Set(group.procs.map((p) => p.pid!));
  const cpuBefore = cpuNow(active, allPids);
  const loadBefore = load1();
  const started = performance.now();
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => group.client.startPipeline(loaded, { cache: false, workflowId: `${tag}-${i}` }).then((r) => r.workflowId)));
  // result() long-polls the history: waiting costs the workers nothing (a status query would run on them).
  const outcomes = await Promise.all(
    ids.map((id) =>
      group.client.result(id).then(
        () => undefined,
        (err: unknown) => `${id}: ${(err as Error).message}`,
      ),
    ),
  );
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = cpuNow(active, allPids);
  const cpuPerRun = Object.fromEntries([...cpuAfter].map(([k, v]) => [k, (v - (cpuBefore.get(k) ?? 0)) / count]));
  return { runsPerMin: (count / wallS) * 60, wallS, failed: outcomes.filter((o): o is string => o !== undefined), loadBefore, loadAfter: load1(), cpuPerRun };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  say(`${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${runs} runs × ${rounds} rounds per worker count (${workerCounts.join(', ')}), worker concurrency ${concurrency}, ${epochs} epochs, ${warmup} warm-up runs per group`);
  let topo: Topology | undefined;
  let ws: SpecWorkspace | undefined;
  const groups: Group[] = [];
  const cleanup = cleanupOnInterrupt(async () => {
    for (const g of groups) await g.client.close().catch(() => undefined);
    await topo?.close();
    await ws?.remove();
  });
  try {
    const t0 = performance.now();
    topo = await startTopology(say);
    const env = topo.env({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE });
    const init = await runCliAsync(['cluster', 'init', '--retention', '1d'], env, 120_000);
    if (init.code !== 0) throw new Error(`cluster init failed: ${init.stderr}${init.stdout}`);
    say(`topology up and initialised in ${fmt((performance.now() - t0) / 1000, 0)} s`);
    const keyring = loadKeyring(parseEnv({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE })) as Keyring;

    // All groups up before any round: each on its own queues, so idle groups only hold long polls.
    for (const n of workerCounts) {
      const prefix = `w${n}-`;
      const procs = Array.from({ length: n }, (_, i) => topo!.startWorker(`w${n}-cpu-${i + 1}`, 'cpu', { concurrency, env: { MLCYCLE_QUEUE_PREFIX: prefix } }));
      const client = await MlcycleClient.connect({ address: topo.temporalAddress, namespace: topo.namespace, queuePrefix: prefix, keyring });
      groups.push({ workers: n, prefix, client, procs });
    }
    for (const g of groups) for (const w of g.procs) await waitReady(w);
    const allPids = new Set(groups.flatMap((g) => g.procs.map((p) => p.pid!)));
    say(`${groups.reduce((s, g) => s + g.procs.length, 0)} workers ready in ${fmt((performance.now() - t0) / 1000, 0)} s since start`);

    ws = await SpecWorkspace.create({ rows: 600 });
    const specFor = async (name: string) =>
      loadPipelineSpec(
        await ws!.spec(`${name}.yaml`, (d) => {
          d.name = name;
          d.train.params.epochs = epochs;
          delete d.evaluate.compareToChampion;
        }),
      );

    if (warmup > 0) {
      for (const g of groups) {
        const r = await round(g, allPids, await specFor(`scale-warm-w${g.workers}`), warmup, `scale-warm-w${g.workers}`);
        say(`warm-up ${g.workers} worker(s): ${warmup} runs in ${fmt(r.wallS)} s${r.failed.length ? `, FAILED ${r.failed.join('; ')}` : ''}`);
      }
    }

    const results = new Map<number, Round[]>(groups.map((g) => [g.workers, []]));
    for (let r = 1; r <= rounds; r++) {
      for (const g of groups) {
        const name = `scale-w${g.workers}-r${r}`;
        const res = await round(g, allPids, await specFor(name), runs, name);
        results.get(g.workers)!.push(res);
        say(`round ${r}/${rounds}, ${g.workers} worker(s): ${runs} runs in ${fmt(res.wallS)} s = ${fmt(res.runsPerMin)} runs/min, load ${fmt(res.loadBefore, 2)} → ${fmt(res.loadAfter, 2)}${res.failed.length ? `, FAILED ${res.failed.length}: ${res.failed.slice(0, 3).join('; ')}` : ''}`);
        for (const w of g.procs) if (w.hasExited()) throw new Error(`worker ${w.name} exited during the round: ${w.tail()}`);
      }
    }

    const base = median(results.get(workerCounts[0]!)!.map((x) => x.runsPerMin));
    const summary = workerCounts.map((n) => {
      const rs = results.get(n)!;
      const rpm = rs.map((x) => x.runsPerMin);
      return {
        workers: n,
        runsPerMin: { median: median(rpm), min: Math.min(...rpm), max: Math.max(...rpm), rounds: rpm },
        speedup: median(rpm) / base,
        loadBefore: median(rs.map((x) => x.loadBefore)),
        loadAfter: median(rs.map((x) => x.loadAfter)),
        failed: rs.reduce((s, x) => s + x.failed.length, 0),
        cpuSecondsPerRun: Object.fromEntries(COMPONENTS.map((c) => [c, median(rs.map((x) => x.cpuPerRun[c] ?? 0))])),
      };
    });
    const failed = summary.reduce((s, x) => s + x.failed, 0);

    console.log(`\nscale-out: ${runs} concurrent runs of the example pipeline on the production topology, ${os.cpus().length} cores, worker concurrency ${concurrency}, medians of ${rounds} round(s)`);
    console.log(`| cpu workers | runs/min median [min–max] | speed-up vs ${workerCounts[0]} worker(s) | load 1-min before → after (medians) | CPU s per run: ${COMPONENTS.join(' / ')} (medians) | failed runs |`);
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const s of summary) {
      const cpu = COMPONENTS.map((c) => s.cpuSecondsPerRun[c]!.toFixed(3)).join(' / ');
      console.log(`| ${s.workers} | ${fmt(s.runsPerMin.median)} [${fmt(s.runsPerMin.min)}–${fmt(s.runsPerMin.max)}] | ${s.speedup.toFixed(2)}× | ${fmt(s.loadBefore, 2)} → ${fmt(s.loadAfter, 2)} | ${cpu} | ${s.failed} |`);
    }
    console.log(JSON.stringify({ bench: 'scale-out', cores: os.cpus().length, runs, rounds, concurrency, epochs, baselineWorkers: workerCounts[0], results: summary }));
    if (failed > 0) throw new Error(`${failed} run(s) failed: the figures above count them as finished`);
  } finally {
    await cleanup();
  }
}

runBench(main);
