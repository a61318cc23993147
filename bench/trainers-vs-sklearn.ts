/**
 * The built-in trainers side by side with scikit-learn on the same rows and machine.
 *
 *   npx tsx bench/trainers-vs-sklearn.ts [--rows 1000000] [--features 20] [--runs 3] [--only lr,gb,gb-defaults]
 *     [--tasks binary,multiclass,regression] [--sklearn-threads 1]
 *
 * For each task (binary, multiclass with 3 classes, regression) one generated data set
 * (test/helpers/synthetic-tasks.ts) is written to disk as column-major float64; each fit runs in
 * its own process, ours (Node) and scikit-learn's (the project venv from scripts/python-venv.sh),
 * reading the same files, so peak RSS is per fit. The last 20% of rows are held out. Reported:
 * medians of `--runs` fits of CPU time (process time, all threads), held-out metric (AUC, one-vs-
 * rest AUC, RMSE) and peak RSS, with the ratios the issue sets as targets:
 *   LR:  CPU ≤ 2× LogisticRegression(lbfgs) (regression: LinearRegression), AUC within 0.002
 *   GB (matched settings, no early stopping): CPU ≤ 2× HistGradientBoosting*, AUC within 0.003
 *   GB defaults (early stopping): AUC ≥ scikit-learn's default − 0.003
 *   peak RSS ≤ 1.2× scikit-learn's
 * Load matters on a shared machine: `uptime` is printed before and after.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, positiveInt } from './cli-args';
import { peakRssMiB } from './peak-rss';
import { histGradientBoosting } from '../src/training/hist-gradient-boosting';
import { linearModel } from '../src/training/linear-model';
import { computeTaskMetrics } from '../src/training/task-metrics';
import { synthetic } from '../test/helpers/synthetic-tasks';

const ROOT = path.join(__dirname, '..');

interface Fit {
  cpu: number;
  wall: number;
  metric: number;
  rss_mb: number;
  iters: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Child mode: one fit of ours, printing the same JSON line as sklearn_fit.py. */
async function child(dir: string, task: 'binary' | 'multiclass' | 'regression', model: string, config: string): Promise<void> {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { n: number; d: number; test: number; classes: number };
  const xb = fs.readFileSync(path.join(dir, 'x.f64'));
  const yb = fs.readFileSync(path.join(dir, 'y.f64'));
  const X = new Float64Array(xb.buffer, xb.byteOffset, meta.n * meta.d);
  const Y = new Float64Array(yb.buffer, yb.byteOffset, meta.n);
  const tr = meta.n - meta.test;
  const cols = (from: number, to: number) => Array.from({ length: meta.d }, (_, j) => X.subarray(j * meta.n + from, j * meta.n + to));
  const classes = task === 'regression' ? undefined : Array.from({ length: meta.classes }, (_, c) => String(c));
  const y = (from: number, to: number) => ({ task, values: Y.subarray(from, to), ...(classes ? { classes } : {}) });
  const names = Array.from({ length: meta.d }, (_, j) => `x${j}`);
  let train = { X: { rows: tr, featureNames: names, columns: cols(0, tr) }, y: y(0, tr) };
  const test = { X: { rows: meta.test, featureNames: names, columns: cols(tr, meta.n) }, y: y(tr, meta.n) };
  let validation: typeof train | undefined;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  const trainer = (model === 'lr' ? linearModel : histGradientBoosting) as any;
  const raw = model === 'lr' ? {} : config === 'defaults' ? {} : { epochs: 100, earlyStopping: false };
  const params = trainer.parseParams(raw, { task, rows: tr });
  if (model === 'gb' && params.earlyStopping) {
    // As scikit-learn: 10% of the training rows held out for early stopping.
    const cut = Math.round(tr * 0.9);
    validation = { X: { rows: tr - cut, featureNames: names, columns: cols(cut, tr) }, y: y(cut, tr) };
    train = { X: { rows: cut, featureNames: names, columns: cols(0, cut) }, y: y(0, cut) };
  }
  const data = { train, ...(validation ? { validation } : {}) };
  let state = trainer.init(data, params, 1);
  while (!state.done && state.epoch < state.totalEpochs) state = trainer.step(state, data);
  const c = process.cpuUsage(t0);
  const wall = (performance.now() - w0) / 1000;
  const out = trainer.predict(state, test.X);
  const metricName = task === 'binary' ? 'auc' : task === 'multiclass' ? 'auc_ovr' : 'rmse';
  const metric = computeTaskMetrics({ task, y: test.y.values, pred: out, numClasses: meta.classes }, [metricName])[metricName];
  const fit: Fit = { cpu: (c.user + c.system) / 1e6, wall, metric: metric as number, rss_mb: peakRssMiB(), iters: state.epoch };
  console.log(JSON.stringify(fit));
}

function runFit(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Fit {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Fit;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv[4] as any, process.argv[5]!, process.argv[6]!);
  const rows = positiveInt('--rows', 1_000_000);
  const features = positiveInt('--features', 20);
  const runs = positiveInt('--runs', 3);
  const only = (arg('--only') ?? 'lr,gb,gb-defaults').split(',');
  // OpenMP threads that wait spin and count as CPU time on a busy machine; `--sklearn-threads 1`
  // compares against scikit-learn at its most CPU-frugal (ours is single-threaded).
  const threads = arg('--sklearn-threads');
  const sklearnEnv = threads ? { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads } : process.env;
  const tasks = (arg('--tasks') ?? 'binary,multiclass,regression').split(',') as Array<'binary' | 'multiclass' | 'regression'>;
  const python = execFileSync('bash', [path.join(ROOT, 'scripts/python-venv.sh'), 'sklearn', path.join(ROOT, 'scripts/requirements/sklearn-reference.txt')], { encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  console.log(`uptime before: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  console.log(`${rows} rows × ${features} features, ${runs} runs per fit, ${os.cpus().length} CPUs, scikit-learn threads: ${threads ?? 'default (all cores)'}`);
  const results: string[] = [];
  const targets: string[] = [];
  for (const task of tasks) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mlcycle-bench-${task}-`));
    try {
      const data = synthetic({ task, rows, features, seed: 17, classes: 3 });
      const x = new Float64Array(rows * features);
      data.X.columns.forEach((c, j) => x.set(c, j * rows));
      fs.writeFileSync(path.join(dir, 'x.f64'), x);
      fs.writeFileSync(path.join(dir, 'y.f64'), data.y.values);
      fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ n: rows, d: features, test: Math.round(rows * 0.2), classes: task === 'multiclass' ? 3 : 2 }));
      for (const what of only) {
        const [model, config] = what === 'gb-defaults' ? ['gb', 'defaults'] : [what, 'matched'];
        const ours: Fit[] = [];
        const theirs: Fit[] = [];
        for (let r = 0; r < runs; r++) {
          ours.push(runFit(process.execPath, ['--import', 'tsx', __filename, '--child', dir, task, model, config]));
          theirs.push(runFit(python, [path.join(__dirname, 'sklearn_fit.py'), dir, task, model, config], sklearnEnv));
        }
        const m = (xs: Fit[], k: keyof Fit) => median(xs.map((f) => f[k] as number));
        const cpuRatio = m(ours, 'cpu') / m(theirs, 'cpu');
        const rssRatio = m(ours, 'rss_mb') / m(theirs, 'rss_mb');
        const dMetric = m(ours, 'metric') - m(theirs, 'metric');
        const metricName = task === 'binary' ? 'AUC' : task === 'multiclass' ? 'AUC-ovr' : 'RMSE';
        results.push(
          `${task.padEnd(10)} ${what.padEnd(11)} CPU ${m(ours, 'cpu').toFixed(2)}s vs ${m(theirs, 'cpu').toFixed(2)}s (×${cpuRatio.toFixed(2)}; ranges ${Math.min(...ours.map((f) => f.cpu)).toFixed(2)}–${Math.max(...ours.map((f) => f.cpu)).toFixed(2)} / ${Math.min(...theirs.map((f) => f.cpu)).toFixed(2)}–${Math.max(...theirs.map((f) => f.cpu)).toFixed(2)})  ` +
            `${metricName} ${m(ours, 'metric').toFixed(4)} vs ${m(theirs, 'metric').toFixed(4)} (Δ ${dMetric >= 0 ? '+' : ''}${dMetric.toFixed(4)})  RSS ${m(ours, 'rss_mb').toFixed(0)} vs ${m(theirs, 'rss_mb').toFixed(0)} MB (×${rssRatio.toFixed(2)})  iters ${m(ours, 'iters')} vs ${m(theirs, 'iters')}`,
        );
        const tol = model === 'lr' ? 0.002 : 0.003;
        const metricOk = task === 'regression' ? m(ours, 'metric') <= m(theirs, 'metric') * 1.01 : config === 'defaults' ? dMetric >= -0.003 : Math.abs(dMetric) <= tol;
        const cpuOk = config === 'defaults' || cpuRatio <= 2;
        targets.push(`${task} ${what}: CPU ≤2× ${config === 'defaults' ? 'n/a' : cpuOk ? 'MET' : 'NOT met'}; ${metricName} ${metricOk ? 'MET' : 'NOT met'}; RSS ≤1.2× ${rssRatio <= 1.2 ? 'MET' : 'NOT met'}`);
        console.log(results.at(-1));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\nTargets:');
  for (const t of targets) console.log(`  ${t}`);
  console.log(`uptime after: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
