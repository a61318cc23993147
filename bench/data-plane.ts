/**
 * The data plane at scale, ratios measured in one run against baselines on the same file:
 *
 *   npx tsx bench/data-plane.ts [--rows 10000000] [--runs 3] [--dir /tmp/mlcycle-bench-data] [--no-pandas]
 *                               [--scratch-dir DIR]
 *
 * 1. ingest + profile + validate (mlcycle) of a seeded rows × 20 CSV vs the same engine's raw
 *    `read_csv` aggregate scan (target ≥ 0.5×) and vs pandas read_csv + describe (target mlcycle
 *    ≥ 2× faster; pandas from a project venv, bench/data-plane/requirements.txt); peak RSS of the
 *    mlcycle process (target ≤ 1 GiB). Beside them the engine's bare CSV → Parquet COPY (`copy`):
 *    no ingest that writes a Parquet snapshot can beat it, so raw/copy is the best ratio any
 *    snapshotting ingest could show.
 * 2. train-step data loading of a 1M-row snapshot (target ≤ 2 s), next to one epoch of each trainer.
 * Snapshots (mlcycle's and the bare COPY's) are written under --scratch-dir (default: --dir); a
 * tmpfs there (/dev/shm) shows what the disk's writes cost.
 * Each variant runs in its own process (peak RSS is its own), alternating, medians over --runs.
 * Prints `uptime` before and after: on a shared machine the load changes every ratio.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeScaleCsv } from '../test/helpers/scale-data';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}
const ROWS = Number(arg('--rows', '10000000'));
const RUNS = Number(arg('--runs', '3'));
const DIR = arg('--dir', '/tmp/mlcycle-bench-data');
const SCRATCH = arg('--scratch-dir', DIR);
const PANDAS = !process.argv.includes('--no-pandas');
const ROOT = path.join(__dirname, '..');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

function child(mode: string, file: string): Record<string, number> {
  const scratch = fs.mkdtempSync(path.join(SCRATCH, `${mode}-`));
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'bench', 'data-plane', 'one-run.ts'), mode, file, scratch], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`${mode} run failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(DIR, { recursive: true });
  const csv = path.join(DIR, `table-${ROWS}.csv`);
  if (!fs.existsSync(csv)) {
    console.log(`generating ${csv} …`);
    await writeScaleCsv(csv, { rows: ROWS, seed: 1, digits: 6 });
  }
  const bytes = fs.statSync(csv).size;
  console.log(`table: ${ROWS} rows × 20 features, ${(bytes / 2 ** 30).toFixed(2)} GiB; runs: ${RUNS}`);
  console.log(`before: ${uptime()}`);
  let python: string | undefined;
  if (PANDAS) {
    const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'python-venv.sh'), 'bench-data-plane', path.join(ROOT, 'bench', 'data-plane', 'requirements.txt')], { encoding: 'utf8', cwd: ROOT });
    python = out.trim().split('\n').pop();
  }
  const results: Record<string, Array<Record<string, number>>> = { raw: [], copy: [], mlcycle: [], pandas: [] };
  for (let run = 0; run < RUNS; run++) {
    results.raw!.push(child('raw', csv));
    results.copy!.push(child('copy', csv));
    results.mlcycle!.push(child('mlcycle', csv));
    if (python) {
      const r = spawnSync(python, [path.join(ROOT, 'bench', 'data-plane', 'pandas_describe.py'), csv], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`pandas run failed:\n${r.stderr}`);
      results.pandas!.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>);
    }
    console.log(`run ${run + 1}: raw ${results.raw!.at(-1)!.seconds!.toFixed(1)} s, copy ${results.copy!.at(-1)!.seconds!.toFixed(1)} s, mlcycle ${results.mlcycle!.at(-1)!.seconds!.toFixed(1)} s${python ? `, pandas ${results.pandas!.at(-1)!.seconds!.toFixed(1)} s` : ''}`);
  }
  const med = (k: string, f = 'seconds') => median(results[k]!.map((r) => r[f]!));
  const raw = med('raw');
  const ml = med('mlcycle');
  const copy = med('copy');
  const summary: Record<string, unknown> = {
    rows: ROWS,
    runs: RUNS,
    rawScanSeconds: raw,
    bareCopySeconds: copy,
    bareCopyVsRawScan: raw / copy,
    mlcycleSeconds: ml,
    mlcycleRowsPerSecond: Math.round(ROWS / ml),
    mlcycleVsRawScan: raw / ml,
    mlcyclePeakRssMiB: Math.max(...results.mlcycle!.map((r) => r.maxRssMiB!)),
    rawPeakRssMiB: Math.max(...results.raw!.map((r) => r.maxRssMiB!)),
  };
  if (python) {
    summary.pandasSeconds = med('pandas');
    summary.pandasPeakRssMiB = Math.max(...results.pandas!.map((r) => r.maxRssMiB!));
    summary.mlcycleSpeedupVsPandas = (summary.pandasSeconds as number) / ml;
    summary.bareCopySpeedupVsPandas = (summary.pandasSeconds as number) / copy;
  }
  // Train-step loading of a 1M-row snapshot.
  const snapCsv = path.join(DIR, 'table-1000000.csv');
  if (!fs.existsSync(snapCsv)) await writeScaleCsv(snapCsv, { rows: 1_000_000, seed: 1, digits: 6 });
  const snapshot = path.join(DIR, 'snapshot-1m.parquet');
  if (!fs.existsSync(snapshot)) {
    execFileSync('node', [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '-e', `
      const { convertSource, sourceFile } = require('${ROOT}/src/data/ingest-source');
      const { scaleSchema } = require('${ROOT}/test/helpers/scale-data');
      convertSource({ file: sourceFile('${snapCsv}', 'x', 'csv'), schema: scaleSchema(20), target: 'label', scratchDir: '${DIR}', snapshotPath: '${snapshot}' }).catch((e) => { console.error(e); process.exit(1); });`]);
  }
  const loads = Array.from({ length: RUNS }, () => child('load', snapshot));
  summary.trainLoad1mSeconds = median(loads.map((l) => l.loadSeconds!));
  summary.lrEpochSeconds = median(loads.map((l) => l['logistic-regressionEpochSeconds']!));
  summary.gbEpochSeconds = median(loads.map((l) => l['gradient-boostingEpochSeconds']!));
  summary.lrDefaultEpochs = loads[0]!['logistic-regressionEpochs'];
  summary.gbDefaultEpochs = loads[0]!['gradient-boostingEpochs'];
  console.log(`after: ${uptime()}`);
  console.log(`mlcycle ingest+profile+validate: ${ml.toFixed(1)} s (${String(summary.mlcycleRowsPerSecond)} rows/s), ${(raw / ml).toFixed(2)}× of the raw scan (${raw.toFixed(1)} s; target ≥ 0.5×), peak RSS ${Math.round(summary.mlcyclePeakRssMiB as number)} MiB (target ≤ 1024)`);
  console.log(`bare CSV → Parquet COPY: ${copy.toFixed(1)} s, ${(raw / copy).toFixed(2)}× of the raw scan: the most any ingest that writes a Parquet snapshot could reach; mlcycle is at ${(copy / ml).toFixed(2)}× of it`);
  if (python) {
    console.log(
      `pandas read_csv+describe: ${(summary.pandasSeconds as number).toFixed(1)} s → mlcycle ${(summary.mlcycleSpeedupVsPandas as number).toFixed(2)}× faster (target ≥ 2×); ` +
        `the bare COPY alone is ${(summary.bareCopySpeedupVsPandas as number).toFixed(2)}× faster than pandas`,
    );
  }
  console.log(`train-step load of the 1M snapshot: ${(summary.trainLoad1mSeconds as number).toFixed(2)} s (target ≤ 2 s); one epoch: LR ${(summary.lrEpochSeconds as number).toFixed(2)} s × ${String(summary.lrDefaultEpochs)}, GB ${(summary.gbEpochSeconds as number).toFixed(2)} s × ${String(summary.gbDefaultEpochs)}`);
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
