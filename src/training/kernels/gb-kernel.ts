/**
 * The gradient-boosting trainer's WebAssembly kernel (assembly/gb-kernel.ts): histogram building,
 * row partitioning and binning, about twice as fast as the same loops in JavaScript (no bounds
 * checks, no deoptimization, selects instead of branches; bench/trainers-vs-sklearn.ts). The kernel reads and writes one arena, a
 * WebAssembly memory laid out once per training matrix, whose regions the trainer uses directly
 * as typed arrays: the bins, the row index, the gradients and hessians of every output, and one
 * histogram the kernel fills (the trainer copies it out into its own pool).
 *
 * wasm32 addresses 4 GiB: a matrix whose arena would not fit gets none, and the trainer uses its
 * JavaScript loops instead (the same results, bit for bit).
 */
import { z } from 'zod';
import { formatIssues } from '../../config/zod-issues';
import { MlcycleError } from '../../errors';
import { GB_KERNEL_WASM_BASE64 } from './gb-kernel-wasm';

/** `MLCYCLE_GB_KERNEL`: `wasm` (default) or `js`, the JavaScript loops (same trees, slower), for comparing. */
const KernelSettingSchema = z.object({ MLCYCLE_GB_KERNEL: z.enum(['wasm', 'js']).default('wasm') });

/** Which loops the trainer uses, from the worker's environment; a value other than wasm or js is refused. */
export function gbKernelSetting(env: Record<string, string | undefined> = process.env): 'wasm' | 'js' {
  const parsed = KernelSettingSchema.safeParse({ MLCYCLE_GB_KERNEL: env.MLCYCLE_GB_KERNEL === '' ? undefined : env.MLCYCLE_GB_KERNEL });
  if (!parsed.success) throw new MlcycleError('CONFIG_INVALID', `gradient-boosting kernel setting is invalid:\n${formatIssues(parsed.error)}`);
  return parsed.data.MLCYCLE_GB_KERNEL;
}

/** Histogram slots per feature and f64 values per slot (gradient, hessian, count). */
export const HIST_SLOTS = 256;
export const SLOT_VALUES = 3;

const PAGE = 65_536;
/** The most a wasm32 memory may hold, in pages. */
const MAX_PAGES = 65_536;

interface KernelExports {
  buildHist(bins: number, n: number, d: number, rows: number, start: number, m: number, g: number, h: number, og: number, oh: number, hist: number, inOrder: number, constHess: number): void;
  partition(col: number, rows: number, tmp: number, start: number, end: number, thr: number, missLeft: number): number;
  binColumn(values: number, n: number, edges: number, nEdges: number, out: number): void;
}

/** What this module uses of the WebAssembly global (Node's types for ES2022 do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;
function kernelModule(): object {
  compiled ??= new wasm.Module(Buffer.from(GB_KERNEL_WASM_BASE64, 'base64'));
  return compiled;
}

export interface GbArena {
  /** Bins, column-major: bins[f * n + i]. */
  readonly bins: Uint8Array;
  readonly rows: Uint32Array;
  readonly tmp: Uint32Array;
  /** Gradients and hessians of every output, output-major: g[c * n + i]. */
  readonly g: Float64Array;
  readonly h: Float64Array;
  /**
   * The histogram of rows[start:start+m) for output `c` (see the kernel's buildHist). The returned
   * view is the arena's one histogram: copy it before the next call.
   */
  buildHist(start: number, m: number, c: number, inOrder: boolean, constHess: boolean): Float64Array;
  /** Stable partition of rows[start:end) by feature f's bins at `thr`; returns the split point. */
  partition(f: number, start: number, end: number, thr: number, missLeft: boolean): number;
  /** Feature f's bins from its n values and ascending edges (at most 255), into `bins`. */
  binColumn(f: number, values: Float64Array, edges: Float64Array): void;
}

/**
 * An arena for n rows × d features and `width` outputs, or undefined when it would exceed what
 * wasm32 addresses (or the memory cannot be had): the caller falls back to JavaScript.
 */
export function createArena(n: number, d: number, width: number): GbArena | undefined {
  let offset = 0;
  const region = (bytes: number): number => {
    const at = offset;
    offset += Math.ceil(bytes / 8) * 8;
    return at;
  };
  const binsAt = region(n * d);
  const rowsAt = region(4 * n);
  const tmpAt = region(4 * n);
  const ogAt = region(8 * n);
  const ohAt = region(8 * n);
  const gAt = region(8 * n * width);
  const hAt = region(8 * n * width);
  const histAt = region(8 * d * HIST_SLOTS * SLOT_VALUES);
  const pages = Math.max(1, Math.ceil(offset / PAGE));
  if (pages > MAX_PAGES) return undefined;
  let memory: { readonly buffer: ArrayBuffer };
  try {
    memory = new wasm.Memory({ initial: pages, maximum: pages });
  } catch {
    return undefined;
  }
  const k = new wasm.Instance(kernelModule(), { env: { memory } }).exports as KernelExports;
  const buf = memory.buffer;
  const hist = new Float64Array(buf, histAt, d * HIST_SLOTS * SLOT_VALUES);
  // Binning happens before any histogram of a fit: the column is staged in the ordered-gradient
  // region (n f64) and the edges in the histogram region (≥ 256 f64 for any d ≥ 1).
  const staged = new Float64Array(buf, ogAt, n);
  return {
    bins: new Uint8Array(buf, binsAt, n * d),
    rows: new Uint32Array(buf, rowsAt, n),
    tmp: new Uint32Array(buf, tmpAt, n),
    g: new Float64Array(buf, gAt, n * width),
    h: new Float64Array(buf, hAt, n * width),
    buildHist(start, m, c, inOrder, constHess) {
      k.buildHist(binsAt, n, d, rowsAt, start, m, gAt + 8 * n * c, hAt + 8 * n * c, ogAt, ohAt, histAt, inOrder ? 1 : 0, constHess ? 1 : 0);
      return hist;
    },
    partition(f, start, end, thr, missLeft) {
      return k.partition(binsAt + f * n, rowsAt, tmpAt, start, end, thr, missLeft ? 1 : 0);
    },
    binColumn(f, values, edges) {
      if (values.length !== n || edges.length >= HIST_SLOTS) throw new RangeError(`binColumn: ${values.length} values for ${n} rows, ${edges.length} edges`);
      staged.set(values);
      hist.set(edges);
      k.binColumn(ogAt, n, histAt, edges.length, binsAt + f * n);
    },
  };
}
