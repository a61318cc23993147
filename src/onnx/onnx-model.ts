/**
 * A model a command trainer exported to ONNX, scored by mlcycle itself with onnxruntime-node (the
 * CPU binaries that ship in the npm package).
 *
 * ## The contract (python/mlcycle_trainer writes it)
 * - `model.onnx`: one input per feature column, named like the column, `[N, 1]` (or `[N]`):
 *   a float tensor for `number` and `boolean` columns (booleans as 0/1, missing as NaN), a string
 *   tensor for `category` columns (missing as ""). Inputs are checked against the spec's features
 *   before anything is scored; a mismatch names the missing and extra inputs.
 * - `mlcycle-model.json`: `{format: "mlcycle-onnx/v1", task, flavor, output}`; `output` names the
 *   tensor to read: class probabilities `[N, k]` (binary: the last column is P(positive), or a
 *   single column holding it) or the regression value `[N]` / `[N, 1]`.
 */
import type * as Ort from 'onnxruntime-node';
import { z } from 'zod';
import { MlcycleError } from '../errors';
import type { TaskType } from '../training/feature-matrix';

// The native runtime loads on first use: only processes that score an ONNX model pay for it, not
// every CLI command that imports this module on its way.
let ortModule: typeof Ort | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load is the point; import() would make every caller async
const ort = (): typeof Ort => (ortModule ??= require('onnxruntime-node') as typeof Ort);

export const ONNX_MODEL_FILE = 'model.onnx';
export const ONNX_META_FILE = 'mlcycle-model.json';

export interface OnnxFeature {
  name: string;
  type: 'number' | 'boolean' | 'category';
}

export const OnnxMeta = z
  .object({
    format: z.literal('mlcycle-onnx/v1'),
    task: z.enum(['binary', 'multiclass', 'regression']),
    flavor: z.string().optional(),
    output: z.string().min(1),
  })
  .loose();
export type OnnxMeta = z.infer<typeof OnnxMeta>;

/** Parses mlcycle-model.json; ARTIFACT_INTEGRITY naming the field when it is not one. */
export function parseOnnxMeta(doc: unknown): OnnxMeta {
  const r = OnnxMeta.safeParse(doc);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new MlcycleError('ARTIFACT_INTEGRITY', `${ONNX_META_FILE} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** A value as rows carry it (coerced data rows or /predict bodies). */
type Cell = number | string | boolean | null | undefined | bigint;

/** Scores: binary and regression one number per row; multiclass one probability row per row. */
export type OnnxScores = { kind: 'vector'; values: Float64Array } | { kind: 'matrix'; values: Float64Array[] };

const NUMERIC_TYPES = new Set(['float32', 'float64', 'float16']);

function describeInput(m: Ort.InferenceSession.ValueMetadata): string {
  return m.isTensor ? m.type : 'a non-tensor';
}

/**
 * The spec's features against the model's inputs: every feature needs an input of its name and
 * kind, and the model may take nothing else.
 */
export function checkSignature(inputs: readonly Ort.InferenceSession.ValueMetadata[], features: readonly OnnxFeature[]): void {
  const byName = new Map(inputs.map((m) => [m.name, m]));
  const wanted = new Set(features.map((f) => f.name));
  const missing = features.filter((f) => !byName.has(f.name)).map((f) => f.name);
  const extra = inputs.filter((m) => !wanted.has(m.name)).map((m) => m.name);
  const wrong: string[] = [];
  for (const f of features) {
    const m = byName.get(f.name);
    if (!m) continue;
    const ok = m.isTensor && (f.type === 'category' ? m.type === 'string' : NUMERIC_TYPES.has(m.type));
    if (!ok) wrong.push(`${f.name} (the spec declares ${f.type}, so a ${f.type === 'category' ? 'string' : 'float'} tensor; the model takes ${describeInput(m)})`);
  }
  if (missing.length || extra.length || wrong.length) {
    const parts = [
      missing.length ? `missing inputs: ${missing.join(', ')}` : undefined,
      extra.length ? `extra inputs: ${extra.join(', ')}` : undefined,
      wrong.length ? `wrong input types: ${wrong.join('; ')}` : undefined,
    ].filter(Boolean);
    throw new MlcycleError(
      'ARTIFACT_INTEGRITY',
      `the ONNX model's inputs do not match the spec's features: ${parts.join('; ')} (the model takes ${inputs.map((m) => m.name).join(', ') || 'nothing'})`,
    );
  }
}

function toFloat(v: Cell): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

/**
 * Requests smaller than this are coalesced: rows of the requests that arrive while the event loop is
 * busy go through one session.run (onnxruntime-node runs on the main thread with a fixed cost per
 * call of ~0.2 ms for a small tree ensemble, far more than a row's own work).
 */
const BATCH_ROWS = 512;

interface Pending {
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>;
  resolve: (s: OnnxScores) => void;
  reject: (err: unknown) => void;
}

export class OnnxModel {
  private pending: Pending[] = [];
  private flushScheduled = false;

  private constructor(
    private readonly session: Ort.InferenceSession,
    readonly meta: OnnxMeta,
    readonly features: readonly OnnxFeature[],
    private readonly inputs: ReadonlyMap<string, Ort.InferenceSession.ValueMetadata>,
  ) {}

  /** Loads and checks a model: signature against `features`, task against `task`, output present. */
  static async load(bytes: Uint8Array, metaDoc: unknown, features: readonly OnnxFeature[], task: TaskType, options: Ort.InferenceSession.SessionOptions = {}): Promise<OnnxModel> {
    const meta = parseOnnxMeta(metaDoc);
    if (meta.task !== task) {
      throw new MlcycleError('ARTIFACT_INTEGRITY', `the ONNX model was saved for task ${meta.task}, but the spec trains ${task}`);
    }
    let session: Ort.InferenceSession;
    try {
      // One thread, no spinning pool: requests are small and coalesced, and a worker or server
      // shares its cores with everything else (spinning intra-op threads collapse under contention).
      session = await ort().InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', ...options });
    } catch (err) {
      throw new MlcycleError('ARTIFACT_INTEGRITY', `cannot load ${ONNX_MODEL_FILE}: ${(err as Error).message}`, { cause: err });
    }
    try {
      checkSignature(session.inputMetadata, features);
      if (!session.outputNames.includes(meta.output)) {
        throw new MlcycleError('ARTIFACT_INTEGRITY', `${ONNX_META_FILE} names output "${meta.output}", but the model's outputs are ${session.outputNames.join(', ')}`);
      }
    } catch (err) {
      await session.release();
      throw err;
    }
    return new OnnxModel(session, meta, features, new Map(session.inputMetadata.map((m) => [m.name, m])));
  }

  get task(): TaskType {
    return this.meta.task;
  }

  private feeds(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Record<string, Ort.Tensor> {
    const n = rows.length;
    const feeds: Record<string, Ort.Tensor> = {};
    for (const f of this.features) {
      const m = this.inputs.get(f.name)!;
      const dims = m.isTensor && m.shape.length === 1 ? [n] : [n, 1];
      if (f.type === 'category') {
        const data = rows.map((r) => {
          const v = r[f.name] as Cell;
          return v === null || v === undefined ? '' : String(v);
        });
        feeds[f.name] = new (ort().Tensor)('string', data, dims);
      } else {
        const type = m.isTensor && m.type === 'float64' ? 'float64' : 'float32';
        const data = type === 'float64' ? new Float64Array(n) : new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = toFloat(rows[i]![f.name] as Cell);
        feeds[f.name] = new (ort().Tensor)(type, data, dims);
      }
    }
    return feeds;
  }

  /**
   * Scores rows (feature columns by name; other fields ignored). Concurrent small calls share one
   * inference run (see BATCH_ROWS); if a shared run fails, each call is retried alone, so an error
   * stays with the rows that caused it.
   */
  score(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<OnnxScores> {
    if (rows.length >= BATCH_ROWS) return this.scoreNow(rows);
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.flushScheduled = false;
    if (batch.length === 1) {
      const only = batch[0]!;
      return this.scoreNow(only.rows).then(only.resolve, only.reject);
    }
    let all: OnnxScores;
    try {
      all = await this.scoreNow(batch.flatMap((b) => b.rows));
    } catch {
      for (const b of batch) this.scoreNow(b.rows).then(b.resolve, b.reject);
      return;
    }
    let offset = 0;
    for (const b of batch) {
      const n = b.rows.length;
      b.resolve(all.kind === 'vector' ? { kind: 'vector', values: all.values.slice(offset, offset + n) } : { kind: 'matrix', values: all.values.slice(offset, offset + n) });
      offset += n;
    }
  }

  private async scoreNow(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<OnnxScores> {
    const n = rows.length;
    if (n === 0) return this.task === 'multiclass' ? { kind: 'matrix', values: [] } : { kind: 'vector', values: new Float64Array(0) };
    const out = (await this.session.run(this.feeds(rows), [this.meta.output]))[this.meta.output];
    if (!out) throw new MlcycleError('ARTIFACT_INTEGRITY', `the model produced no "${this.meta.output}" output`);
    const data = out.data as ArrayLike<number | bigint>;
    const width = out.dims.length >= 2 ? Number(out.dims[out.dims.length - 1]) : 1;
    if (data.length !== n * width) {
      throw new MlcycleError('ARTIFACT_INTEGRITY', `output "${this.meta.output}" has ${data.length} values for ${n} rows (shape ${out.dims.join('×')})`);
    }
    if (this.task === 'multiclass') {
      const values: Float64Array[] = [];
      for (let i = 0; i < n; i++) values.push(Float64Array.from({ length: width }, (_, k) => Number(data[i * width + k]!)));
      return { kind: 'matrix', values };
    }
    if (this.task === 'regression' && width !== 1) {
      throw new MlcycleError('ARTIFACT_INTEGRITY', `regression output "${this.meta.output}" must hold one value per row, got ${width}`);
    }
    // Binary: the last column is P(positive) ([P(0), P(1)] or a single probability column).
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = Number(data[i * width + width - 1]!);
    return { kind: 'vector', values };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
