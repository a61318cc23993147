/**
 * Shared plumbing of the bad-input fuzz suites (test/fuzz):
 *
 *   MLCYCLE_FUZZ_RUNS    multiplies every property's number of runs (default 1; 0.2 for a smoke
 *                        run, 10 for a long one). The defaults keep the whole suite under ~90 s
 *                        on two slow cores.
 *   MLCYCLE_FUZZ_SEED    fast-check seed for every property (default: a fresh one per file,
 *                        printed in the summary; fast-check also prints seed and path on failure).
 *   MLCYCLE_FUZZ_REPORT  a file to which one JSON line {target, cases} per target is appended.
 *
 * Every target counts the cases it actually ran and prints one summary line to stderr, so a run
 * can be quoted ("[fuzz] spec: 620 cases in 3.1 s, seed 123").
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll } from 'vitest';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${raw}"`);
  return n;
}

function envSeed(): number | undefined {
  const raw = process.env.MLCYCLE_FUZZ_SEED;
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`MLCYCLE_FUZZ_SEED: expected an integer, got "${raw}"`);
  return n | 0;
}

const RUN_SCALE = envNumber('MLCYCLE_FUZZ_RUNS') ?? 1;
/** One seed per file unless pinned, so a failing file can be rerun exactly from its summary line. */
export const FUZZ_SEED = envSeed() ?? (Math.random() * 0x7fffffff) | 0;

/** `base` runs scaled by MLCYCLE_FUZZ_RUNS, at least one. */
export function scaledRuns(base: number): number {
  return Math.max(1, Math.round(base * RUN_SCALE));
}

export class FuzzTarget {
  cases = 0;
  private readonly started = Date.now();

  constructor(readonly name: string) {}

  /** Counts one executed case; call at the top of every property body. */
  hit(): void {
    this.cases++;
  }

  /** fast-check parameters: scaled runs, the file's seed, no time-based interruption. */
  params<T>(baseRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
    return { numRuns: scaledRuns(baseRuns), seed: FUZZ_SEED, endOnFailure: false, ...extra };
  }

  report(): void {
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    console.error(`[fuzz] ${this.name}: ${this.cases} cases in ${secs} s, seed ${FUZZ_SEED}`);
    const file = process.env.MLCYCLE_FUZZ_REPORT;
    if (file) fs.appendFileSync(file, `${JSON.stringify({ target: this.name, cases: this.cases })}\n`);
  }
}

/** A target whose summary is printed (and reported) once the test file is done. */
export function fuzzTarget(name: string): FuzzTarget {
  const target = new FuzzTarget(name);
  afterAll(() => target.report());
  return target;
}
