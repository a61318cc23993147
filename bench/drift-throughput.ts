/**
 * Throughput of the drift computation (src/monitoring/drift.ts) on one activity's worth of data:
 * a reference and a current sample of --rows rows × 20 features each (15 numeric, 5 categorical),
 * generated in memory with a seeded PRNG, held column-wise (Float64Array per numeric feature,
 * an array of interned strings per categorical one).
 *
 *   npx tsx bench/drift-throughput.ts [--rows 1000000] [--runs 3]
 *
 * Two variants, alternating after one warm-up each:
 *   - baseline: one pass that only reads every input value (sums the numbers and the string
 *     lengths) of both samples — the floor for anything that looks at all the data;
 *   - drift: featureDrift(reference, current) with PSI (decision) + KS for the numeric features
 *     and chi-squared for the categorical ones — p-values, bin counts, histograms and all;
 *   - floor (categorical counting): only counting the categorical values of both samples, one
 *     keyed lookup and increment per value (countCategories, what any categorical test on string
 *     values starts from);
 *   - floor (least work): the numeric values read as the baseline reads them, plus the categorical
 *     counting. Any drift check must at least read every number and tell every category value
 *     apart, so baseline / this floor is the best ratio any drift check on this input can reach.
 * rows/s counts the current rows (the reference is read as well by both variants). The table shows
 * medians over the runs and the ratio drift/baseline (target ≥ 0.5×), plus the drift run split
 * into its numeric and categorical parts. Prints the table and last one JSON line. Exits non-zero
 * only on errors (or a wrong verdict), never on a missed target.
 */
import { performance } from 'node:perf_hooks';
import { countCategories, featureDrift, type DriftReport } from '../src/monitoring/drift';
import { median } from './bench-services';

const TARGET_RATIO = 0.5;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} expects a positive integer, got "${process.argv[i + 1]}"`);
    process.exit(2);
  }
  return n;
}

const ROWS = arg('--rows', 1_000_000);
const RUNS = arg('--runs', 3);
const NUMERIC = 15;
const CATEGORICAL = 5;

/** mulberry32: a small seeded PRNG with uniform output in [0, 1); the seed is hashed so nearby seeds give unrelated streams. */
function prng(seed: number): () => number {
  let s = Math.imul(seed ^ (seed >>> 16), 0x45d9f3b) >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x45d9f3b) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Numeric feature i: a different shape per feature (normal, skewed, heavy-tailed, integer, with gaps). */
function numericColumn(i: number, n: number, seed: number, shifted: boolean): Float64Array {
  const u = prng(seed);
  const out = new Float64Array(n);
  const shift = shifted ? 0.5 : 0;
  for (let r = 0; r < n; r++) {
    let x: number;
    switch (i % 5) {
      case 0: // ~normal
        x = (u() + u() + u() + u() - 2) * 1.7320508075688772 + shift;
        break;
      case 1: // exponential (skewed)
        x = -Math.log(1 - u()) * (1 + shift * 1.2);
        break;
      case 2: // integer-valued (ties), e.g. a count
        x = Math.floor(u() * (20 + (shifted ? 6 : 0)));
        break;
      case 3: // heavy tail
        x = 1 / (u() + 1e-3) + shift;
        break;
      default: // uniform with 1% missing
        x = u() < 0.01 ? NaN : u() * 100 + shift * 100;
        break;
    }
    out[r] = x;
  }
  return out;
}

const VOCAB_SIZES = [3, 5, 12, 50, 200];

function categoricalColumn(i: number, n: number, seed: number, shifted: boolean): string[] {
  const u = prng(seed);
  const k = VOCAB_SIZES[i % VOCAB_SIZES.length]!;
  const vocab = Array.from({ length: k }, (_, j) => `f${i}_v${j}`);
  const out = new Array<string>(n);
  for (let r = 0; r < n; r++) {
    // Zipf-like: value j with weight ~ 1/(j+1); the shifted sample flattens it.
    const x = u();
    const j = Math.min(k - 1, Math.floor(k ** (shifted ? x ** 0.8 : x)) - 1);
    out[r] = vocab[Math.max(0, j)]!;
  }
  return out;
}

type Columns = Record<string, Float64Array | string[]>;

function generate(): { reference: Columns; current: Columns; shifted: string[] } {
  const reference: Columns = {};
  const current: Columns = {};
  const shifted: string[] = [];
  for (let i = 0; i < NUMERIC; i++) {
    const name = `num${String(i).padStart(2, '0')}`;
    const drift = i < 3; // num00 … num02 move
    if (drift) shifted.push(name);
    reference[name] = numericColumn(i, ROWS, 1000 + i, false);
    current[name] = numericColumn(i, ROWS, 2000 + i, drift);
  }
  for (let i = 0; i < CATEGORICAL; i++) {
    const name = `cat${i}`;
    const drift = i === 0;
    if (drift) shifted.push(name);
    reference[name] = categoricalColumn(i, ROWS, 3000 + i, false);
    current[name] = categoricalColumn(i, ROWS, 4000 + i, drift);
  }
  return { reference, current, shifted };
}

/** Every number of both samples summed (read once), and `categorical` of every categorical column. */
function pass(reference: Columns, current: Columns, categorical: (col: string[]) => number): number {
  let sum = 0;
  for (const cols of [reference, current]) {
    for (const col of Object.values(cols)) {
      if (col instanceof Float64Array) {
        let s = 0;
        for (let i = 0; i < col.length; i++) s += col[i]!;
        sum += s === s ? s : 1; // NaN (missing values) would poison the sink
      } else sum += categorical(col);
    }
  }
  return sum;
}

function lengthSum(col: string[]): number {
  let s = 0;
  for (let i = 0; i < col.length; i++) s += col[i]!.length;
  return s;
}

/** The baseline: read every value of both samples once. */
function readAll(reference: Columns, current: Columns): number {
  return pass(reference, current, lengthSum);
}

function drift(reference: Columns, current: Columns): DriftReport {
  return featureDrift(reference, current, {
    method: 'psi',
    threshold: 0.1,
    minSamples: 1000,
    metrics: ['ks'],
  });
}

/** The categorical counting alone: a floor for drift on string-valued categories. */
function countOnly(reference: Columns, current: Columns): number {
  let n = 0;
  for (const cols of [reference, current]) for (const col of Object.values(cols)) if (!(col instanceof Float64Array)) n += countCategories(col).size;
  return n;
}

/** The least work of any drift check: read every number (as the baseline does) and count every category value. */
function leastWork(reference: Columns, current: Columns): number {
  return pass(reference, current, (col) => countCategories(col).size);
}

function pick(cols: Columns, kind: 'numeric' | 'categorical'): Columns {
  return Object.fromEntries(Object.entries(cols).filter(([, c]) => (c instanceof Float64Array) === (kind === 'numeric')));
}

function time<T>(fn: () => T): { ms: number; result: T } {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

function main(): void {
  const t0 = performance.now();
  const { reference, current, shifted } = generate();
  console.log(`generated ${ROWS.toLocaleString('en-US')} reference + ${ROWS.toLocaleString('en-US')} current rows × ${NUMERIC + CATEGORICAL} features in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Warm-up (JIT) and a correctness check: exactly the shifted features drift.
  readAll(reference, current);
  const warm = drift(reference, current);
  const drifted = [...warm.drifted].sort();
  const expected = [...shifted].sort();
  if (JSON.stringify(drifted) !== JSON.stringify(expected)) {
    console.error(`wrong verdicts: drifted ${JSON.stringify(drifted)}, expected ${JSON.stringify(expected)}`);
    for (const f of warm.features) console.error(`  ${f.feature}: ${f.method} ${f.value} p=${f.pValue ?? ''} ks=${JSON.stringify(f.metrics.ks)}`);
    process.exit(1);
  }

  const baselineMs: number[] = [];
  const driftMs: number[] = [];
  const numericMs: number[] = [];
  const categoricalMs: number[] = [];
  const floorMs: number[] = [];
  const leastMs: number[] = [];
  const refNum = pick(reference, 'numeric');
  const curNum = pick(current, 'numeric');
  const refCat = pick(reference, 'categorical');
  const curCat = pick(current, 'categorical');
  let sink = 0;
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? ['baseline', 'drift'] : ['drift', 'baseline'];
    for (const v of order) {
      if (v === 'baseline') {
        const m = time(() => readAll(reference, current));
        sink += m.result;
        baselineMs.push(m.ms);
      } else {
        const m = time(() => drift(reference, current));
        sink += m.result.features.length;
        driftMs.push(m.ms);
      }
    }
    numericMs.push(time(() => drift(refNum, curNum)).ms);
    categoricalMs.push(time(() => drift(refCat, curCat)).ms);
    const f = time(() => countOnly(reference, current));
    sink += f.result;
    floorMs.push(f.ms);
    const l = time(() => leastWork(reference, current));
    sink += l.result;
    leastMs.push(l.ms);
    console.log(
      `run ${run + 1}: baseline ${baselineMs[run]!.toFixed(1)} ms, drift ${driftMs[run]!.toFixed(1)} ms (numeric ${numericMs[run]!.toFixed(1)}, categorical ${categoricalMs[run]!.toFixed(1)}), categorical counting alone ${floorMs[run]!.toFixed(1)} ms, least work ${leastMs[run]!.toFixed(1)} ms`,
    );
  }

  const base = median(baselineMs);
  const full = median(driftMs);
  const baseRps = ROWS / (base / 1000);
  const driftRps = ROWS / (full / 1000);
  const ratio = driftRps / baseRps;
  const num = median(numericMs);
  const cat = median(categoricalMs);
  const floor = median(floorMs);
  const least = median(leastMs);
  const ceiling = base / least;
  const perValueNs = (ms: number, features: number) => (ms * 1e6) / (2 * ROWS * features);

  console.log('');
  console.log(`${'variant'.padEnd(34)} ${'median ms'.padStart(10)} ${'rows/s'.padStart(14)} ${'ns/value'.padStart(9)}`);
  console.log(`${'baseline (read every value)'.padEnd(34)} ${base.toFixed(1).padStart(10)} ${Math.round(baseRps).toLocaleString('en-US').padStart(14)} ${perValueNs(base, NUMERIC + CATEGORICAL).toFixed(2).padStart(9)}`);
  console.log(`${'drift (psi+ks numeric, chi2 cat.)'.padEnd(34)} ${full.toFixed(1).padStart(10)} ${Math.round(driftRps).toLocaleString('en-US').padStart(14)} ${perValueNs(full, NUMERIC + CATEGORICAL).toFixed(2).padStart(9)}`);
  console.log(`${'  of which 15 numeric'.padEnd(34)} ${num.toFixed(1).padStart(10)} ${''.padStart(14)} ${perValueNs(num, NUMERIC).toFixed(2).padStart(9)}`);
  console.log(`${'  of which 5 categorical'.padEnd(34)} ${cat.toFixed(1).padStart(10)} ${''.padStart(14)} ${perValueNs(cat, CATEGORICAL).toFixed(2).padStart(9)}`);
  console.log(`${'floor: categorical counting alone'.padEnd(34)} ${floor.toFixed(1).padStart(10)} ${''.padStart(14)} ${perValueNs(floor, CATEGORICAL).toFixed(2).padStart(9)}`);
  console.log(`${'floor: numbers read + categories'.padEnd(34)} ${least.toFixed(1).padStart(10)} ${''.padStart(14)} ${perValueNs(least, NUMERIC + CATEGORICAL).toFixed(2).padStart(9)}`);
  console.log(`ratio drift/baseline: ${ratio.toFixed(3)}× (target ≥ ${TARGET_RATIO}×) ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'}`);
  console.log(`best reachable on this input (baseline / least work): ${ceiling.toFixed(3)}×; categorical counting alone allows ${(base / floor).toFixed(3)}×`);
  console.log(
    JSON.stringify({
      bench: 'drift-throughput',
      rows: ROWS,
      referenceRows: ROWS,
      features: { numeric: NUMERIC, categorical: CATEGORICAL },
      runs: RUNS,
      baseline: { medianMs: round(base), rowsPerSec: Math.round(baseRps) },
      drift: { medianMs: round(full), rowsPerSec: Math.round(driftRps), numericMs: round(num), categoricalMs: round(cat) },
      ratio: round(ratio, 4),
      floor: { categoricalCountingMs: round(floor), leastWorkMs: round(least), ceilingRatio: round(ceiling, 4) },
      target: TARGET_RATIO,
      met: ratio >= TARGET_RATIO,
      drifted: drifted,
      node: process.version,
    }),
  );
  if (sink === 0.123456789) console.log(''); // keeps the baseline's sums observable
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main();
