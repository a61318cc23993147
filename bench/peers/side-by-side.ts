/**
 * mlcycle beside its peers, in one run: the same 20-step no-op chain and the same 200 × 1 s
 * fan-out at concurrency 16 through mlcycle, bare Temporal (same tuned dev server, same worker),
 * Prefect 3 (a local `prefect server` and Prefect's ephemeral mode) and Metaflow (local runtime),
 * interleaved with the order rotating every round; then a kill -9 of each system's orchestrating
 * process in the middle of a 20-step chain, reporting whether the run resumed and whether
 * completed steps re-ran. Not in CI (the peers take minutes to install and to run).
 *
 *   npx tsx bench/peers/side-by-side.ts [--rounds 3] [--steps 20] [--tasks 200] [--concurrency 16]
 *       [--work-ms 1000] [--systems mlcycle,bare,prefect-local,prefect-ephemeral,metaflow]
 *       [--fanout-systems (same list)] [--no-durability] [--state-dir DIR]
 *
 * The peers are installed from PyPI into `.venv/peers` by scripts/python-venv.sh (pinned in
 * bench/peers/requirements.txt), on the first run only. What each figure covers:
 *   - mlcycle / bare: client start → result, against a running server and worker;
 *   - Prefect: the flow call in a long-lived Python process that has already run one flow (so no
 *     interpreter start, imports or ephemeral-server start; the flow run's own fixed cost is in);
 *   - Metaflow: `python flow.py run` from spawn to exit: a Metaflow run is a process (each step is
 *     another), so its start-up is part of every run.
 * Prints a table of medians [min–max] and ratios, `uptime` load before and after, and a JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { parseEnv } from '../../src/config/env';
import { freePort } from '../../src/stack/ports';
import { loadWorkflowBundle, quietLogger } from '../../src/worker/workflow-bundle';
import { withBenchDevServer } from '../bench-dev-server';
import { syntheticStudyActivities, syntheticStudyInput } from '../fanout-study';
import * as activities from '../orchestration/activities';
import { BENCH_TASK_QUEUE } from '../orchestration/shared';
import { runBench } from '../bench-services';

const ROOT = path.resolve(__dirname, '..', '..');
const PEERS = __dirname;
const ALL = ['mlcycle', 'bare', 'prefect-local', 'prefect-ephemeral', 'metaflow'] as const;
type System = (typeof ALL)[number];
const FANOUT_QUEUE = 'bench-peers-fanout';
const DURABLE_QUEUE = 'bench-peers-durable';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '20' },
    tasks: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    'work-ms': { type: 'string', default: '1000' },
    systems: { type: 'string', default: ALL.join(',') },
    'fanout-systems': { type: 'string' },
    'no-durability': { type: 'boolean', default: false },
    'state-dir': { type: 'string' },
  },
});
function int(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${raw})`);
  return n;
}
function systemList(name: string, raw: string): System[] {
  const list = raw.split(',').filter(Boolean);
  for (const s of list) if (!(ALL as readonly string[]).includes(s)) throw new Error(`--${name}: unknown system "${s}" (known: ${ALL.join(', ')})`);
  return list as System[];
}
const rounds = int('rounds', values.rounds);
const steps = int('steps', values.steps);
const tasks = int('tasks', values.tasks);
const concurrency = int('concurrency', values.concurrency);
const workMs = int('work-ms', values['work-ms']);
const chainSystems = systemList('systems', values.systems);
const fanoutSystems = systemList('fanout-systems', values['fanout-systems'] ?? values.systems);
const log = (l: string) => process.stderr.write(`${l}\n`);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------- Python side ----------

/** Process groups this bench started detached: killed however the bench ends (Ctrl-C included). */
const groups = new Set<number>();
process.on('exit', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
function track(proc: ChildProcess): ChildProcess {
  if (proc.pid) {
    const pid = proc.pid;
    groups.add(pid);
    proc.once('exit', () => groups.delete(pid));
  }
  return proc;
}

function venvPython(): string {
  log('peers: preparing .venv/peers (pip installs only when requirements.txt changed)');
  const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'python-venv.sh'), 'peers', path.join(PEERS, 'requirements.txt')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

function prefectEnv(home: string, apiUrl?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PREFECT_HOME: home,
    PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
    PREFECT_LOGGING_LEVEL: 'WARNING',
    PREFECT_SERVER_LOGGING_LEVEL: 'WARNING',
    PREFECT_UI_ENABLED: 'false',
    // Start-up on a loaded 2-core machine takes longer than Prefect's 20 s default.
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: '300',
  };
  if (apiUrl) env.PREFECT_API_URL = apiUrl;
  else {
    delete env.PREFECT_API_URL;
    env.PREFECT_SERVER_ALLOW_EPHEMERAL_MODE = 'true';
  }
  return env;
}

/** A `prefect server start` of its own (SQLite under `home`), until stop(). */
async function startPrefectServer(python: string, home: string): Promise<{ apiUrl: string; stop(): Promise<void> }> {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}/api`;
  const out = fs.openSync(path.join(home, 'server.log'), 'a');
  const proc = track(spawn(python, ['-m', 'prefect', 'server', 'start', '--host', '127.0.0.1', '--port', String(port)], { env: prefectEnv(home), stdio: ['ignore', out, out], detached: true }));
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prefect server exited (${proc.exitCode}); see ${home}/server.log`);
    try {
      if ((await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`prefect server not healthy after 300 s; see ${home}/server.log`);
    await sleep(500);
  }
  return { apiUrl, stop: () => killGroup(proc) };
}

async function killGroup(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc.pid) return;
  const done = proc.exitCode !== null || proc.signalCode !== null;
  const exited = done ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
  try {
    process.kill(-proc.pid, signal);
  } catch {
    return;
  }
  await Promise.race([exited, sleep(10_000)]);
  if (proc.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** prefect_bench.py `serve`: one warm process answering chain/fan-out requests. */
class PrefectRunner {
  private readonly lines: readline.Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  private constructor(private readonly proc: ChildProcess) {
    this.lines = readline.createInterface({ input: proc.stdout! });
    this.lines.on('line', (line) => {
      if (line.startsWith('RESULT ')) this.waiting.shift()?.(line.slice(7));
    });
  }

  static async start(python: string, home: string, apiUrl: string | undefined): Promise<PrefectRunner> {
    const err = fs.openSync(path.join(home, 'serve.log'), 'a');
    const proc = track(spawn(python, [path.join(PEERS, 'prefect_bench.py'), 'serve'], { env: prefectEnv(home, apiUrl), cwd: home, stdio: ['pipe', 'pipe', err], detached: true }));
    const runner = new PrefectRunner(proc);
    await runner.next(); // {"ready": true} after its warm-up flow
    return runner;
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('prefect_bench.py serve exited; see serve.log in its PREFECT_HOME'));
      this.proc.once('exit', onExit);
      this.waiting.push((line) => {
        this.proc.off('exit', onExit);
        resolve(line);
      });
    });
  }

  async run(req: Record<string, unknown>): Promise<number> {
    const answer = this.next();
    this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    return (JSON.parse(await answer) as { wall_s: number }).wall_s;
  }

  async stop(): Promise<void> {
    this.proc.stdin!.end();
    await killGroup(this.proc);
  }
}

function metaflowEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, USERNAME: 'bench', METAFLOW_DEFAULT_DATASTORE: 'local', METAFLOW_DEFAULT_METADATA: 'local', ...extra };
}

/** One Metaflow run, spawn → exit, in `dir` (its local datastore lives there). */
async function metaflowRun(python: string, dir: string, flow: string, args: string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const out = fs.openSync(path.join(dir, 'metaflow.log'), 'a');
  const proc = track(spawn(python, [path.join(dir, flow), '--quiet', '--no-pylint', ...args], { cwd: dir, env: metaflowEnv(env), stdio: ['ignore', out, out], detached: true }));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  const wall = (performance.now() - t0) / 1000;
  // Whatever the run left behind in its process group must not slow the next system down.
  await killGroup(proc, 'SIGKILL');
  if (code !== 0) throw new Error(`metaflow ${flow} ${args.join(' ')} exited ${code}; see ${dir}/metaflow.log`);
  return wall;
}

// ---------- durability ----------

interface DurabilityRow {
  system: string;
  /** Steps whose mark was written before the kill. */
  completedAtKill: number;
  /** How the killed run went on. */
  resumedBy: string;
  /** Did the killed run itself finish (as opposed to a new run doing the work)? */
  sameRunFinished: boolean;
  completedStepsReRun: number;
  /** Every step's mark is there once the restart is done. */
  allStepsDone: boolean;
  recoveryS: number;
  note: string;
}

function readMarks(file: string): number[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

async function waitForMarks(file: string, n: number, proc: ChildProcess, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readMarks(file).length < n) {
    if (proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode}) before ${n} steps completed`);
    if (Date.now() > deadline) throw new Error(`fewer than ${n} steps completed in ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

function tally(file: string, killAt: number, n: number) {
  const all = readMarks(file);
  const before = new Set(all.slice(0, killAt));
  const after = all.slice(killAt);
  return {
    completedAtKill: before.size,
    completedStepsReRun: new Set(after.filter((i) => before.has(i))).size,
    allStepsDone: Array.from({ length: n }, (_, i) => i).every((i) => all.includes(i)),
  };
}

const KILL_AFTER = 10;
const STEP_MS = 300;

async function mlcycleDurability(client: Client, address: string, namespace: string, bundlePath: string, dir: string): Promise<DurabilityRow> {
  const marks = path.join(dir, 'mlcycle-marks');
  const startWorker = async () => {
    const proc = track(spawn(process.execPath, ['--import', 'tsx', path.join(PEERS, 'mlcycle-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_TEMPORAL_ADDRESS: address, BENCH_NAMESPACE: namespace, BENCH_QUEUE: DURABLE_QUEUE, BENCH_BUNDLE: bundlePath },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    }));
    await new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: proc.stdout! }).on('line', (l) => l === 'READY' && resolve());
      proc.once('exit', (c) => reject(new Error(`mlcycle worker exited (${c}) before it was ready`)));
    });
    return proc;
  };
  const first = await startWorker();
  const handle = await client.workflow.start('durableChainWorkflow', { taskQueue: DURABLE_QUEUE, workflowId: `durable-${Date.now()}`, args: [steps, STEP_MS, marks] });
  await waitForMarks(marks, KILL_AFTER, first);
  first.kill('SIGKILL');
  const killAt = readMarks(marks).length;
  const t0 = performance.now();
  const second = await startWorker();
  try {
    await handle.result();
  } finally {
    second.kill('SIGKILL');
  }
  return {
    system: 'mlcycle',
    ...tally(marks, killAt, steps),
    resumedBy: 'itself: a new worker process picked the same run up',
    sameRunFinished: true,
    recoveryS: (performance.now() - t0) / 1000,
    note: 'worker killed; the step in flight was retried after its 5 s start-to-close timeout',
  };
}

async function prefectDurability(python: string, home: string, apiUrl: string, persist: boolean): Promise<DurabilityRow> {
  const marks = path.join(home, `durable-marks${persist ? '-persist' : ''}`);
  const args = [path.join(PEERS, 'prefect_bench.py'), 'durable', '--steps', String(steps), '--step-ms', String(STEP_MS), '--marks', marks, ...(persist ? ['--persist'] : [])];
  const err = fs.openSync(path.join(home, 'durable.log'), 'a');
  const run = () => track(spawn(python, args, { env: prefectEnv(home, apiUrl), cwd: home, stdio: ['ignore', 'pipe', err], detached: true }));
  const first = run();
  let flowRun = '';
  readline.createInterface({ input: first.stdout! }).on('line', (l) => {
    if (l.startsWith('RESULT ')) flowRun = (JSON.parse(l.slice(7)) as { flow_run?: string }).flow_run ?? flowRun;
  });
  await waitForMarks(marks, KILL_AFTER, first);
  first.kill('SIGKILL');
  const killAt = readMarks(marks).length;
  const t0 = performance.now();
  // Prefect has nothing that picks a dead flow run up; a user's restart is running it again.
  const second = run();
  const code = await new Promise<number | null>((r) => second.once('exit', r));
  if (code !== 0) throw new Error(`prefect re-run exited ${code}; see ${home}/durable.log`);
  const recoveryS = (performance.now() - t0) / 1000;
  const state = flowRun ? execFileSync(python, [path.join(PEERS, 'prefect_bench.py'), 'state', '--flow-run', flowRun], { env: prefectEnv(home, apiUrl), cwd: home, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) : '';
  const killedState = /RESULT (.*)/.exec(state)?.[1] ? (JSON.parse(/RESULT (.*)/.exec(state)![1]!) as { state: string }).state : 'unknown';
  return {
    system: persist ? 'prefect-local (INPUTS cache + persist_result)' : 'prefect-local (defaults)',
    ...tally(marks, killAt, steps),
    resumedBy: 'not resumed: restarting = running the flow again (a new flow run)',
    sameRunFinished: killedState === 'COMPLETED',
    recoveryS,
    note: `the killed flow run is left ${killedState}`,
  };
}

async function metaflowDurability(python: string, dir: string): Promise<DurabilityRow> {
  const marks = path.join(dir, 'durable-marks');
  const env = metaflowEnv({ MARKS: marks, STEP_MS: String(STEP_MS) });
  const out = fs.openSync(path.join(dir, 'durable.log'), 'a');
  const first = track(spawn(python, [path.join(dir, 'metaflow_chain.py'), '--quiet', '--no-pylint', 'run'], { cwd: dir, env, stdio: ['ignore', out, out], detached: true }));
  await waitForMarks(marks, KILL_AFTER, first);
  first.kill('SIGKILL');
  const killAt = readMarks(marks).length;
  // Let a step process orphaned by the kill finish what it was doing, as it would on its own.
  await sleep(2000);
  const t0 = performance.now();
  const second = track(spawn(python, [path.join(dir, 'metaflow_chain.py'), '--quiet', '--no-pylint', 'resume'], { cwd: dir, env, stdio: ['ignore', out, out], detached: true }));
  const code = await new Promise<number | null>((r) => second.once('exit', r));
  if (code !== 0) throw new Error(`metaflow resume exited ${code}; see ${dir}/durable.log`);
  return {
    system: 'metaflow',
    ...tally(marks, killAt, steps),
    resumedBy: 'manual `resume` command: a new run that clones the completed steps',
    sameRunFinished: false,
    recoveryS: (performance.now() - t0) / 1000,
    note: 'the killed run stays unfinished in the datastore',
  };
}

// ---------- main ----------

/** A pause before each measurement, so what one system leaves running does not land on the next. */
const SETTLE_MS = 2000;

/**
 * Round r's order: rotated by r, and reversed every other round, so no system always follows the
 * same one (a plain rotation keeps every system's predecessor).
 */
function roundOrder(systems: System[], r: number): System[] {
  const rotated = systems.map((_, k) => systems[(r + k) % systems.length]!);
  return r % 2 ? rotated.reverse() : rotated;
}

async function main(): Promise<void> {
  const needPython = [...chainSystems, ...fanoutSystems].some((s) => s.startsWith('prefect') || s === 'metaflow') || !values['no-durability'];
  const python = needPython ? venvPython() : '';
  const stateDir = values['state-dir'] ?? os.tmpdir();
  const work = await fsp.mkdtemp(path.join(stateDir, 'mlcycle-peers-'));
  const loadBefore = load();
  const cleanups: Array<() => Promise<void>> = [];
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' });
  try {
    await withBenchDevServer({ stateDir, dirPrefix: 'mlcycle-bench-peers-', namespace: env.TEMPORAL_NAMESPACE, log }, async ({ server, nativeConnection, connection }) => {
      const namespace = server.namespace;
      const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'bench', 'orchestration', 'workflows.ts'), logger: quietLogger });
      const bundlePath = path.join(work, 'bench-workflows.js');
      await fsp.writeFile(bundlePath, code);
      const chainWorker = await Worker.create({ connection: nativeConnection, namespace, taskQueue: BENCH_TASK_QUEUE, workflowBundle: { code }, activities, maxConcurrentActivityTaskExecutions: concurrency * 2 });
      const studyWorker = await Worker.create({ connection: nativeConnection, namespace, taskQueue: FANOUT_QUEUE, workflowBundle: await loadWorkflowBundle(), activities: syntheticStudyActivities(workMs), maxConcurrentActivityTaskExecutions: concurrency * 2 });
      const client = new Client({ connection, namespace });

      let prefectLocal: { apiUrl: string; stop(): Promise<void> } | undefined;
      const runners = new Map<System, PrefectRunner>();
      const wantsLocal = [...chainSystems, ...fanoutSystems].includes('prefect-local') || !values['no-durability'];
      if (wantsLocal) {
        const home = path.join(work, 'prefect-local');
        await fsp.mkdir(home);
        log('peers: starting prefect server');
        prefectLocal = await startPrefectServer(python, home);
        cleanups.push(() => prefectLocal!.stop());
      }
      for (const s of ['prefect-local', 'prefect-ephemeral'] as const) {
        if (![...chainSystems, ...fanoutSystems].includes(s)) continue;
        const home = path.join(work, s);
        await fsp.mkdir(home, { recursive: true });
        log(`peers: starting ${s} runner`);
        const r = await PrefectRunner.start(python, home, s === 'prefect-local' ? prefectLocal!.apiUrl : undefined);
        runners.set(s, r);
        cleanups.push(() => r.stop());
      }
      const mfDir = path.join(work, 'metaflow');
      await fsp.mkdir(mfDir);
      for (const f of ['metaflow_chain.py', 'metaflow_fanout.py']) await fsp.copyFile(path.join(PEERS, f), path.join(mfDir, f));

      let seq = 0;
      const chainOnce = async (s: System): Promise<number> => {
        switch (s) {
          case 'mlcycle':
          case 'bare': {
            const t0 = performance.now();
            const got = await client.workflow.execute(s === 'mlcycle' ? 'mlcycleNoopWorkflow' : 'bareNoopWorkflow', { taskQueue: BENCH_TASK_QUEUE, workflowId: `peers-chain-${s}-${seq++}-${Date.now()}`, args: [steps] });
            if (got !== steps) throw new Error(`${s}: ${got} first attempts, expected ${steps}`);
            return (performance.now() - t0) / 1000;
          }
          case 'prefect-local':
          case 'prefect-ephemeral':
            return runners.get(s)!.run({ what: 'chain', steps });
          case 'metaflow':
            if (steps !== 20) throw new Error('metaflow_chain.py has 20 steps; run with --steps 20 or leave metaflow out');
            return metaflowRun(python, mfDir, 'metaflow_chain.py', ['run'], {});
        }
      };
      const fanoutOnce = async (s: System): Promise<number> => {
        switch (s) {
          case 'mlcycle': {
            const t0 = performance.now();
            const res = (await client.workflow.execute('tuningStudy', { taskQueue: FANOUT_QUEUE, workflowId: `peers-fanout-${seq++}-${Date.now()}`, args: [syntheticStudyInput({ trials: tasks, concurrency, seed: seq, queue: FANOUT_QUEUE })] })) as { trials: unknown[] };
            if (res.trials.length !== tasks) throw new Error(`study ran ${res.trials.length} trials, expected ${tasks}`);
            return (performance.now() - t0) / 1000;
          }
          case 'bare': {
            const t0 = performance.now();
            const got = await client.workflow.execute('bareFanoutWorkflow', { taskQueue: BENCH_TASK_QUEUE, workflowId: `peers-fanout-bare-${seq++}-${Date.now()}`, args: [tasks, concurrency, workMs] });
            if (got !== tasks) throw new Error(`bare fan-out ran ${got} tasks, expected ${tasks}`);
            return (performance.now() - t0) / 1000;
          }
          case 'prefect-local':
          case 'prefect-ephemeral':
            return runners.get(s)!.run({ what: 'fanout', tasks, concurrency, work_ms: workMs });
          case 'metaflow':
            return metaflowRun(python, mfDir, 'metaflow_fanout.py', ['run', '--max-workers', String(concurrency), '--max-num-splits', String(tasks)], { TASKS: String(tasks), WORK_MS: String(workMs) });
        }
      };

      const chain = new Map<System, number[]>(chainSystems.map((s) => [s, []]));
      const fanout = new Map<System, number[]>(fanoutSystems.map((s) => [s, []]));
      const durability: DurabilityRow[] = [];
      await Promise.all([
        chainWorker.runUntil(studyWorker.runUntil(async () => {
          // Warm-up: one chain each for the Temporal variants (the Prefect runners warmed up on start).
          for (const s of chainSystems) if (s === 'mlcycle' || s === 'bare') await chainOnce(s);
          for (let r = 0; r < rounds; r++) {
            for (const s of roundOrder(chainSystems, r)) {
              await sleep(SETTLE_MS);
              const wall = await chainOnce(s);
              chain.get(s)!.push(wall);
              log(`chain  round ${r + 1}/${rounds} ${s.padEnd(18)} ${((wall * 1000) / steps).toFixed(1)} ms/step  (load ${load()})`);
            }
          }
          for (let r = 0; r < rounds; r++) {
            for (const s of roundOrder(fanoutSystems, r)) {
              await sleep(SETTLE_MS);
              const wall = await fanoutOnce(s);
              fanout.get(s)!.push(wall);
              log(`fanout round ${r + 1}/${rounds} ${s.padEnd(18)} ${wall.toFixed(2)} s  (load ${load()})`);
            }
          }
          if (!values['no-durability']) {
            log('durability: kill -9 in the middle of a 20-step chain');
            durability.push(await mlcycleDurability(client, server.address, namespace, bundlePath, work));
            durability.push(await prefectDurability(python, path.join(work, 'prefect-local'), prefectLocal!.apiUrl, false));
            durability.push(await prefectDurability(python, path.join(work, 'prefect-local'), prefectLocal!.apiUrl, true));
            const mfDurDir = path.join(work, 'metaflow-durable');
            await fsp.mkdir(mfDurDir);
            await fsp.copyFile(path.join(PEERS, 'metaflow_chain.py'), path.join(mfDurDir, 'metaflow_chain.py'));
            durability.push(await metaflowDurability(python, mfDurDir));
          }
        })),
      ]);

      report(chain, fanout, durability, loadBefore);
    });
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

function report(chain: Map<System, number[]>, fanout: Map<System, number[]>, durability: DurabilityRow[], loadBefore: string): void {
  const ideal = (tasks * workMs) / 1000 / concurrency;
  const perStep = (s: System) => chain.get(s)!.map((w) => (w * 1000) / steps);
  const ratioOf = (s: System) => fanout.get(s)!.map((w) => w / ideal);
  const ml = chain.has('mlcycle') ? median(perStep('mlcycle')) : NaN;
  const lines: string[] = [
    '',
    `side by side: ${rounds} interleaved rounds, ${os.cpus().length} CPUs, node ${process.version}; load (1/5/15 min) before ${loadBefore}, after ${load()}`,
    '',
    `${steps}-step no-op chain, wall / ${steps}:`,
    `${'system'.padEnd(20)}${'median ms/step'.padStart(16)}${'[min–max]'.padStart(22)}${'system / mlcycle'.padStart(18)}`,
    ...[...chain.keys()].map((s) => {
      const v = perStep(s);
      return `${s.padEnd(20)}${median(v).toFixed(1).padStart(16)}${`[${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}]`.padStart(22)}${`${(median(v) / ml).toFixed(2)}×`.padStart(18)}`;
    }),
    '',
    `fan-out, ${tasks} × ${workMs} ms at concurrency ${concurrency}, wall / ideal (${ideal.toFixed(2)} s):`,
    `${'system'.padEnd(20)}${'median ratio'.padStart(16)}${'[min–max]'.padStart(22)}${'median wall s'.padStart(18)}`,
    ...[...fanout.keys()].map((s) => {
      const v = ratioOf(s);
      return `${s.padEnd(20)}${`${median(v).toFixed(3)}×`.padStart(16)}${`[${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)}]`.padStart(22)}${median(fanout.get(s)!).toFixed(2).padStart(18)}`;
    }),
  ];
  const checks: string[] = [];
  if (chain.has('mlcycle')) {
    checks.push(`mlcycle ≤ 20 ms/step: ${ml.toFixed(1)} → ${ml <= 20 ? 'MET' : 'MISSED'}`);
    if (chain.has('bare')) checks.push(`mlcycle / bare ≤ 1.2: ${(ml / median(perStep('bare'))).toFixed(2)} → ${ml / median(perStep('bare')) <= 1.2 ? 'MET' : 'MISSED'}`);
    if (chain.has('prefect-local')) checks.push(`prefect-local / mlcycle ≥ 3: ${(median(perStep('prefect-local')) / ml).toFixed(2)} → ${median(perStep('prefect-local')) / ml >= 3 ? 'MET' : 'MISSED'}`);
    if (chain.has('metaflow')) checks.push(`metaflow / mlcycle ≥ 25: ${(median(perStep('metaflow')) / ml).toFixed(1)} → ${median(perStep('metaflow')) / ml >= 25 ? 'MET' : 'MISSED'}`);
  }
  if (fanout.has('mlcycle')) {
    const f = median(ratioOf('mlcycle'));
    checks.push(`mlcycle fan-out ≤ 1.10: ${f.toFixed(3)} → ${f <= 1.1 ? 'MET' : 'MISSED'}`);
    if (fanout.has('prefect-ephemeral')) checks.push(`mlcycle fan-out < prefect-ephemeral's (${median(ratioOf('prefect-ephemeral')).toFixed(3)}): ${f < median(ratioOf('prefect-ephemeral')) ? 'MET' : 'MISSED'}`);
  }
  lines.push('', 'targets:', ...checks.map((c) => `  ${c}`));
  if (durability.length) {
    lines.push('', `kill -9 of the orchestrating process after ${KILL_AFTER} of ${steps} steps (${STEP_MS} ms each), then restart:`);
    for (const d of durability) {
      lines.push(`  ${d.system}: completed at kill ${d.completedAtKill}; resumed: ${d.resumedBy}; same run finished: ${d.sameRunFinished ? 'yes' : 'no'}; completed steps re-ran: ${d.completedStepsReRun}; all ${steps} steps done: ${d.allStepsDone ? 'yes' : 'no'}; restart → done ${d.recoveryS.toFixed(1)} s (${d.note})`);
    }
  }
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      bench: 'peers-side-by-side',
      rounds,
      steps,
      fanout: { tasks, concurrency, workMs, idealS: ideal },
      load: { before: loadBefore, after: load() },
      chainMsPerStep: Object.fromEntries([...chain.keys()].map((s) => [s, { median: median(perStep(s)), runs: perStep(s) }])),
      fanoutRatio: Object.fromEntries([...fanout.keys()].map((s) => [s, { median: median(ratioOf(s)), runs: ratioOf(s) }])),
      durability,
    }),
  );
}

runBench(main);
