/**
 * A tiny seeded generator for workflow code: sfc32 (Chris Doty-Humphrey's "small fast chaotic"
 * generator, 128-bit state, passes PractRand/BigCrush) seeded through splitmix32.
 *
 * Why not seedrandom: its entry module `require('crypto')`s for autoseeding, which the Temporal
 * workflow bundler rejects as a Node built-in; `seedrandom/lib/alea` alone would bundle, but this
 * is 30 lines, has a plain `number[]` state that survives JSON exactly (every value is a uint32),
 * and keeps the tuning module free of any dependency besides zod.
 *
 * Everything here is pure: a generator is a mutable wrapper around a copy of the state, and
 * `state()` hands out another copy, so a strategy can checkpoint it and continue-as-new.
 */

/** Four uint32 words. */
export type RngState = [number, number, number, number];

export interface Rng {
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number;
  /** Standard normal (Box–Muller; one value per call, no cached spare so the state stays the four words). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  state(): RngState;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Hashes a seed (any safe integer, or a string) to 32 bits, so nearby seeds give unrelated streams. */
function seed32(seed: number | string): number {
  const text = typeof seed === 'number' ? String(Math.trunc(seed)) : seed;
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function rngStateFromSeed(seed: number | string): RngState {
  const sm = splitmix32(seed32(seed));
  const state: RngState = [sm(), sm(), sm(), sm()];
  // Warm up so weak seeds have mixed before the first output.
  const rng = createRng(state);
  for (let i = 0; i < 12; i++) rng.next();
  return rng.state();
}

export function createRng(initial: RngState | number | string): Rng {
  const st = typeof initial === 'number' || typeof initial === 'string' ? rngStateFromSeed(initial) : initial;
  let [a, b, c, d] = st.map((v) => v >>> 0) as RngState;
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  const next = (): number => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
  return {
    next,
    normal() {
      let u = next();
      while (u <= 0) u = next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.min(n - 1, Math.floor(next() * n));
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
  };
}
