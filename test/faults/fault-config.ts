import { createRng, type Rng } from '../../src/tuning/rng';

/**
 * Settings of the fault-injection suite. The default is sized for CI (a few minutes on two
 * cores); MLCYCLE_FAULT_SOAK=1 runs many more seeded kill points. Every random choice comes from
 * MLCYCLE_FAULT_SEED, so a failing run is replayed by exporting the seed it printed.
 */
export const DEFAULT_SEED = '20250611';
export const SEED = process.env.MLCYCLE_FAULT_SEED?.trim() || DEFAULT_SEED;
export const SOAK = process.env.MLCYCLE_FAULT_SOAK === '1';
export const MODE: 'ci' | 'soak' = SOAK ? 'soak' : 'ci';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Rounds of kill points: every stage is targeted once per round. */
export const KILL_ROUNDS = SOAK ? positiveInt('MLCYCLE_FAULT_SOAK_ROUNDS', 4) : 1;
/** Runs that are hit at several random stages in a row, per round (soak only). */
export const MULTI_KILL_RUNS = SOAK ? 2 : 0;
/** Runs that see a Temporal restart, each restarted at this many random stages. */
export const RESTART_RUNS = SOAK ? 3 : 1;
export const RESTARTS_PER_RUN = 2;
/**
 * The outage length the issue mandates, once in training (the train step's own attempts) and once
 * in register (the cpu stages' retry policy); soak adds ingest and evaluate.
 */
export const MINIO_OUTAGE_MS = 30_000;
export const MINIO_OUTAGE_STAGES: ReadonlyArray<'ingest' | 'train' | 'evaluate' | 'register'> = SOAK ? ['ingest', 'train', 'evaluate', 'register'] : ['train', 'register'];
/** A target stage that a kill or an outage keeps missing (a short activity finished first) is retried in a new run. */
export const MAX_TRIES_PER_TARGET = 3;

/** An independent stream per purpose, so adding draws in one scenario does not move another's. */
export function rngFor(purpose: string): Rng {
  return createRng(`${SEED}/${purpose}`);
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return Math.round(lo + rng.next() * (hi - lo));
}
