/**
 * The search space in one normalized shape, and what every strategy does with a dimension:
 * sample it, enumerate it for grid search, check a value against it.
 */
import type { Rng } from './rng';
import type { Dimension, ParamValue, TrialParams } from './tune-spec';

export type DimSpec =
  | { name: string; kind: 'float'; log: boolean; low: number; high: number; steps?: number }
  | { name: string; kind: 'int'; low: number; high: number; steps?: number }
  | { name: string; kind: 'choice'; values: ParamValue[] };

export function dimensionSpec(name: string, dim: Dimension): DimSpec {
  if ('uniform' in dim) return { name, kind: 'float', log: false, low: dim.uniform[0], high: dim.uniform[1], ...(dim.steps ? { steps: dim.steps } : {}) };
  if ('loguniform' in dim) return { name, kind: 'float', log: true, low: dim.loguniform[0], high: dim.loguniform[1], ...(dim.steps ? { steps: dim.steps } : {}) };
  if ('int' in dim) return { name, kind: 'int', low: dim.int[0], high: dim.int[1], ...(dim.steps ? { steps: dim.steps } : {}) };
  if ('choice' in dim) return { name, kind: 'choice', values: dim.choice };
  return { name, kind: 'choice', values: dim.values };
}

/** The dimensions in the order the spec lists them (object key order, which JSON and YAML keep). */
export function normalizeSpace(space: Record<string, Dimension>): DimSpec[] {
  return Object.entries(space).map(([name, dim]) => dimensionSpec(name, dim));
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function sampleDim(d: DimSpec, rng: Rng): ParamValue {
  switch (d.kind) {
    case 'choice':
      return d.values[rng.int(d.values.length)] as ParamValue;
    case 'int':
      return d.low + rng.int(d.high - d.low + 1);
    case 'float': {
      const u = rng.next();
      if (!d.log) return clamp(d.low + u * (d.high - d.low), d.low, d.high);
      const lo = Math.log(d.low);
      return clamp(Math.exp(lo + u * (Math.log(d.high) - lo)), d.low, d.high);
    }
  }
}

export function sampleConfig(dims: readonly DimSpec[], rng: Rng): TrialParams {
  const out: TrialParams = {};
  for (const d of dims) out[d.name] = sampleDim(d, rng);
  return out;
}

/** Grid points of one dimension; float dimensions need `steps` (the schema makes sure of it). */
export function gridValues(d: DimSpec): ParamValue[] {
  if (d.kind === 'choice') return [...d.values];
  const n = d.steps;
  if (d.kind === 'int') {
    if (n === undefined) return Array.from({ length: d.high - d.low + 1 }, (_, i) => d.low + i);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = n === 1 ? Math.round((d.low + d.high) / 2) : Math.round(d.low + (i * (d.high - d.low)) / (n - 1));
      if (out[out.length - 1] !== v) out.push(v);
    }
    return out;
  }
  const steps = n ?? 1;
  if (d.low === d.high) return [d.low];
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = steps === 1 ? 0.5 : i / (steps - 1);
    const v = d.log ? Math.exp(Math.log(d.low) + t * (Math.log(d.high) - Math.log(d.low))) : d.low + t * (d.high - d.low);
    // Ends exactly as written, inner points clamped against rounding.
    out.push(steps > 1 && i === 0 ? d.low : steps > 1 && i === steps - 1 ? d.high : clamp(v, d.low, d.high));
  }
  return out;
}

/** Whether `v` is a value the dimension can produce (used to skip history from another space). */
export function inDimension(d: DimSpec, v: ParamValue | undefined): boolean {
  if (v === undefined) return false;
  if (d.kind === 'choice') return d.values.includes(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (d.kind === 'int' && !Number.isInteger(v)) return false;
  return v >= d.low && v <= d.high;
}

/** A stable key for a configuration, for spotting duplicates. */
export function configKey(dims: readonly DimSpec[], params: TrialParams): string {
  return JSON.stringify(dims.map((d) => params[d.name] ?? null));
}
