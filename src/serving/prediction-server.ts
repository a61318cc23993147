/**
 * The HTTP prediction service for one model alias.
 *
 *   POST /predict   {"rows": [{col: value, …}, …]}  (1..maxRows rows)
 *                   → 200 {model, version, predictions: [...]}, per the model's task:
 *                     binary      {probability, label, class, probabilities}  (label: probability >=
 *                                 the threshold stored with the model; class: that class's name)
 *                     multiclass  {label, class, probability, probabilities}  (the most probable class)
 *                     regression  {value}
 *                     (ONNX models of command trainers answer the same shapes: binary
 *                     {probability, label, class, probabilities} at 0.5, regression {value}; see src/onnx)
 *                   → 400 {error, issues: [{path: "rows.3.tenure_months", message}]}
 *                   → 503 {error} while no model is loaded yet
 *   GET  /healthz   → 200 {status: "ok", model, alias, stable, canary} once a model is loaded, 503 before
 *   GET  /metrics   → Prometheus text (its own registry, not prom-client's global one)
 *
 * ## Input rows
 * The body is checked with a zod schema built from the served model's encoder: every feature
 * column must be present, a `number` column as a finite number or null, a `boolean` column as
 * true/false or null, a `category` column as a string or null (null = value unknown; the encoder
 * imputes it as training did). A value the category list does not know is accepted and encodes as
 * "no category", exactly as in training. Extra fields (an id, the label, anything) are allowed and
 * kept in the prediction log, so logged predictions can later be joined with outcomes. The first
 * 50 issues are returned, each naming its field.
 *
 * ## What serves
 * The deployment record `deployments/<model>/<alias>.json` (deployment-record.ts) when one exists:
 * stable plus an optional canary that gets `percent`% of requests. The split is a deterministic
 * credit counter, not a coin: of every 100 requests exactly `percent` go to the canary, spread
 * evenly (50% alternates). Without a record the registry alias is served.
 *
 * ## Hot swap
 * A refresher re-reads the record (or the alias) every `refreshMs`. When the versions change it
 * loads the new model(s) first (registry record, download, parse, build the input schema) and then
 * replaces a single reference; a request reads that reference once, when it starts, so requests in
 * flight finish on the model they began with and none is dropped or refused. If loading fails the
 * old model keeps serving and the failure is logged (once per distinct error); the next refresh
 * tries again.
 *
 * ## Metrics
 * mlcycle_predict_requests_total{version,status}  every /predict answer, by HTTP status
 * mlcycle_predict_errors_total{version}           /predict answers that carried no predictions
 *                                                 (4xx and 5xx): a canary that rejects what stable
 *                                                 accepts shows up here. version="none" when no
 *                                                 model was chosen (unparseable body, none loaded).
 * mlcycle_predict_latency_seconds{version}        handler time of /predict (validate + score)
 * mlcycle_model_version{role="stable"|"canary"}   the versions serving
 * mlcycle_canary_percent                          share of requests routed to the canary
 * mlcycle_prediction_log_rows_total{outcome="written"|"dropped"}
 * plus prom-client's default process metrics.
 *
 * Prediction logs: see prediction-log.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyError, type FastifyInstance, type FastifySchema } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { MlcycleError } from '../errors';
import { ALIAS_NAME, MODEL_NAME, type ModelRegistry, type ModelVersion } from '../registry/model-registry';
import type { ArtifactStore } from '../storage/artifact-store';
import type { Row } from '../training/row-matrix-adapter';
import type { RowMatrixEncoder } from '../training/row-matrix-adapter';
import { parseModelArtifact, predictRows, type ModelArtifact, type RowPrediction } from '../training/model-artifact';
import { readDeploymentRecord } from './deployment-record';
import { loadServableOnnx, type ServingDescription } from '../onnx/onnx-artifact';
import type { OnnxModel } from '../onnx/onnx-model';
import { createPredictionLogger, type PredictionLogEntry } from './prediction-log';

export interface PredictionServerOptions {
  store: ArtifactStore;
  registry: ModelRegistry;
  model: string;
  alias?: string;
  host?: string;
  /** 0 (the default) picks a free port; start() returns the URL. */
  port?: number;
  /** How often the deployment record (or alias) is re-read. */
  refreshMs?: number;
  /** Prediction logs are written at least this often… */
  logFlushMs?: number;
  /** …or as soon as this many rows are buffered. */
  logBatchRows?: number;
  /** Most rows one request may carry. Default 10,000. */
  maxRows?: number;
  /** Largest request body in bytes. Default 32 MiB. */
  bodyLimit?: number;
  /** Operational messages (loads, swaps, failures). Default: stderr. */
  log?: (line: string) => void;
  /**
   * Numeric inputs far outside what the model was trained on: `refuse` (400, the default) a value
   * that is not finite or lies further from the training mean than 1e6 × the training scale (the
   * larger of the standard deviation and |mean|: the encoder keeps mean and spread, not min/max),
   * `clip` it to that bound (non-finite still refused), or `allow` it.
   */
  outOfRange?: OutOfRangeRule;
  /** When set, /predict and /metrics require `Authorization: Bearer <token>`; /healthz stays open. */
  token?: string;
}

export type OutOfRangeRule = 'refuse' | 'clip' | 'allow';
/** "Beyond 1e6× the training range", as a multiple of the training scale (see outOfRange). */
export const OUT_OF_RANGE_Z = 1e6;

/**
 * Applies the rule to each row's numeric features: the rows to score (clipped copies where the
 * rule clips) and the issues of what is refused.
 */
export function applyOutOfRange(artifact: ModelArtifact, rows: readonly Row[], rule: OutOfRangeRule): { rows: Row[]; issues: Issue[] } {
  const issues: Issue[] = [];
  if (rule === 'allow') return { rows: [...rows], issues };
  const numeric = artifact.encoder.columns.filter((c): c is Extract<typeof c, { kind: 'number' }> => c.kind === 'number');
  const out = rows.map((row, i) => {
    let copy: Record<string, unknown> | undefined;
    for (const c of numeric) {
      const v = row[c.name];
      if (typeof v !== 'number') continue;
      // The encoder keeps mean and spread: their larger is the scale of the training values.
      const bound = OUT_OF_RANGE_Z * Math.max(c.std, Math.abs(c.mean), 1e-12);
      if (!Number.isFinite(v)) {
        issues.push({ path: `rows.${i}.${c.name}`, message: `${String(v)} is not a finite number` });
      } else if (Math.abs(v - c.mean) > bound) {
        if (rule === 'clip') {
          copy ??= { ...row };
          copy[c.name] = Math.min(c.mean + bound, Math.max(c.mean - bound, v));
        } else {
          issues.push({ path: `rows.${i}.${c.name}`, message: `${v} is outside the range this model accepts (training mean ${c.mean.toPrecision(4)} ± ${OUT_OF_RANGE_Z.toExponential(0)} × the training scale; --out-of-range refuse)` });
        }
      }
    }
    return (copy) ?? row;
  });
  return { rows: out, issues };
}

export interface ServingState {
  /** null until a model is loaded. */
  stable: number | null;
  canary?: { version: number; percent: number };
}

export interface PredictionServer {
  /** Loads the model (if one is deployed yet; /predict answers 503 until then) and listens. */
  start(): Promise<{ url: string }>;
  /** Stops refreshing, finishes requests in flight, then flushes the prediction logs. */
  stop(): Promise<void>;
  current(): ServingState;
  /** Re-reads the record / alias now, as the refresher does every refreshMs. Never rejects. */
  refresh(): Promise<void>;
}

export interface PredictResponse {
  model: string;
  version: number;
  /** Binary: {probability, label (threshold applied), class, probabilities}; multiclass: {label, class, probability, probabilities}; regression: {value}. */
  predictions: RowPrediction[];
}

interface Issue {
  path: string;
  message: string;
}

interface LoadedModel {
  version: number;
  modelUri: string;
  /** A built-in model, or… */
  artifact?: ModelArtifact;
  /** …a command trainer's ONNX model (src/onnx). */
  onnx?: { model: OnnxModel; description: ServingDescription };
  body: z.ZodType<{ rows: Row[] }>;
}

interface Routing {
  stable: LoadedModel;
  canary?: { model: LoadedModel; percent: number };
}

interface Target {
  stable: number;
  /** Already read from the registry (alias path), so it need not be read again. */
  stableRecord?: ModelVersion;
  canary?: { version: number; percent: number };
  source: 'deployment record' | 'alias';
}

const MAX_ISSUES = 50;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** A zod error message: "missing" for an absent column, else what was expected and what came. */
function columnError(expected: string) {
  return (iss: { input?: unknown }): string =>
    iss.input === undefined
      ? `missing: every row needs this column (send null for an unknown value)`
      : `expected ${expected}, got ${describeValue(iss.input)}`;
}

/** The request body schema for a model's encoder columns (see the top of this file). */
export function buildRequestSchema(encoder: Pick<RowMatrixEncoder, 'columns'>, maxRows = 10_000): z.ZodType<{ rows: Row[] }> {
  const shape: Record<string, z.ZodType> = {};
  for (const col of encoder.columns) {
    switch (col.kind) {
      case 'number':
        shape[col.name] = z.number({ error: columnError('a finite number or null') }).nullable();
        break;
      case 'boolean':
        shape[col.name] = z.boolean({ error: columnError('true, false or null') }).nullable();
        break;
      case 'category':
        shape[col.name] = z.string({ error: columnError(`a string (one of ${col.values.join(', ')}) or null`) }).nullable();
        break;
    }
  }
  const row = z.looseObject(shape, { error: (iss) => `expected an object of column values, got ${describeValue(iss.input)}` });
  return z.object(
    {
      rows: z
        .array(row, { error: (iss) => (iss.input === undefined ? 'missing: expected {"rows": [...]}' : `expected an array of rows, got ${describeValue(iss.input)}`) })
        .min(1, 'expected at least 1 row')
        .max(maxRows, `expected at most ${maxRows} rows per request`),
    },
    { error: (iss) => `expected a JSON object {"rows": [...]}, got ${describeValue(iss.input)}` },
  );
}

function toIssues(error: z.ZodError): { issues: Issue[]; total: number } {
  const issues = error.issues.slice(0, MAX_ISSUES).map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  return { issues, total: error.issues.length };
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Standard deviations from the training mean past which a number is reported as unscorable. */
const EXTREME_Z = 1e6;

/**
 * Issues for the rows the model scored as NaN. Finite numbers can still be too extreme to score:
 * standardized, they overflow to ±Infinity, and opposite infinities cancel to NaN. Each such row
 * names its number columns that lie absurdly far from the training data (or the row itself when
 * none does).
 */
function unscorableIssues(artifact: ModelArtifact, rows: readonly Row[], probabilities: readonly number[]): { issues: Issue[]; total: number } {
  const all: Issue[] = [];
  probabilities.forEach((p, i) => {
    if (Number.isFinite(p)) return;
    const row = rows[i]!;
    const extreme = artifact.encoder.columns.filter((c) => {
      const v = row[c.name];
      return c.kind === 'number' && typeof v === 'number' && !(Math.abs((v - c.mean) / c.std) <= EXTREME_Z);
    });
    for (const c of extreme) {
      all.push({ path: `rows.${i}.${c.name}`, message: `${String(row[c.name])} is too far outside the training data to score (over ${EXTREME_Z} standard deviations from its mean)` });
    }
    if (extreme.length === 0) all.push({ path: `rows.${i}`, message: 'the model cannot score this row (its probability is not a number)' });
  });
  return { issues: all.slice(0, MAX_ISSUES), total: all.length };
}

/** ONNX models: rows the model scored as NaN (no encoder statistics to name a column by). */
function nanIssues(scores: readonly number[]): { issues: Issue[]; total: number } {
  const all: Issue[] = [];
  scores.forEach((p, i) => {
    if (!Number.isFinite(p)) all.push({ path: `rows.${i}`, message: 'the model cannot score this row (its prediction is not a number)' });
  });
  return { issues: all.slice(0, MAX_ISSUES), total: all.length };
}

/** The request columns of an ONNX model: the spec's features, validated exactly as for built-in models. */
function requestColumns(features: ServingDescription['features']): Pick<RowMatrixEncoder, 'columns'> {
  return {
    columns: features.map((f): RowMatrixEncoder['columns'][number] =>
      f.type === 'category' ? { name: f.name, kind: 'category', values: f.values ?? [] } : f.type === 'number' ? { name: f.name, kind: 'number', mean: 0, std: 1 } : { name: f.name, kind: 'boolean' },
    ),
  };
}

/** An ONNX model's answers in the built-in models' shapes: binary at 0.5 (no stored threshold), regression the value. */
function onnxPredictions(description: ServingDescription, scores: readonly number[]): RowPrediction[] {
  if (description.task === 'regression') return scores.map((value) => ({ value }));
  // Boolean and 0/1 targets answer "true"/"false"; a category target its two declared values.
  const positive = description.target.positive ?? 'true';
  const negative = description.target.negative ?? 'false';
  return scores.map((p) => ({ probability: p, label: p >= 0.5, class: p >= 0.5 ? positive : negative, probabilities: { [negative]: 1 - p, [positive]: p } }));
}

function describeRouting(r: Routing | undefined): string {
  if (!r) return 'nothing';
  return `v${r.stable.version}${r.canary ? ` + canary v${r.canary.model.version} at ${r.canary.percent}%` : ''}`;
}

export function createPredictionServer(options: PredictionServerOptions): PredictionServer {
  const { store, registry, model } = options;
  const alias = options.alias ?? 'production';
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const refreshMs = Math.max(10, options.refreshMs ?? 1000);
  const maxRows = options.maxRows ?? 10_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!MODEL_NAME.test(model)) throw new MlcycleError('USAGE', `invalid model name ${JSON.stringify(model)}`);
  if (!ALIAS_NAME.test(alias)) throw new MlcycleError('USAGE', `invalid alias name ${JSON.stringify(alias)}`);

  // ---- metrics ---------------------------------------------------------------------------------
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const requestsTotal = new Counter({
    name: 'mlcycle_predict_requests_total',
    help: 'Prediction requests answered, by model version and HTTP status',
    labelNames: ['version', 'status'] as const,
    registers: [metrics],
  });
  const errorsTotal = new Counter({
    name: 'mlcycle_predict_errors_total',
    help: 'Prediction requests answered without predictions (4xx and 5xx), by model version',
    labelNames: ['version'] as const,
    registers: [metrics],
  });
  const latency = new Histogram({
    name: 'mlcycle_predict_latency_seconds',
    help: 'Time to validate and score a prediction request',
    labelNames: ['version'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [metrics],
  });
  const modelVersion = new Gauge({
    name: 'mlcycle_model_version',
    help: 'The model version serving, by role',
    labelNames: ['role'] as const,
    registers: [metrics],
  });
  const canaryPercent = new Gauge({
    name: 'mlcycle_canary_percent',
    help: 'Percentage of prediction requests routed to the canary version',
    registers: [metrics],
  });
  canaryPercent.set(0);
  const logRows = new Counter({
    name: 'mlcycle_prediction_log_rows_total',
    help: 'Prediction log rows written to the artifact store, dropped (store down too long, or not JSON), or truncated (larger than the row limit; written truncated)',
    labelNames: ['outcome'] as const,
    registers: [metrics],
  });

  function countAnswer(version: string, status: number, started: number | undefined): void {
    requestsTotal.inc({ version, status: String(status) });
    if (status >= 400) errorsTotal.inc({ version });
    if (started !== undefined) latency.observe({ version }, (performance.now() - started) / 1000);
  }

  // ---- prediction logs -------------------------------------------------------------------------
  const logger = createPredictionLogger({
    store,
    model,
    flushMs: options.logFlushMs ?? 2000,
    batchRows: options.logBatchRows ?? 500,
    log,
    onWritten: (n) => logRows.inc({ outcome: 'written' }, n),
    onDropped: (n) => logRows.inc({ outcome: 'dropped' }, n),
    onTruncated: (n) => logRows.inc({ outcome: 'truncated' }, n),
  });

  // ---- what serves, and the refresher ----------------------------------------------------------
  let routing: Routing | undefined;
  /** Canary credit: +percent per request; a request that brings it to 100 goes to the canary. */
  let credit = 0;
  let lastProblem: string | undefined;

  function problem(message: string): void {
    if (message === lastProblem) return;
    lastProblem = message;
    log(message);
  }

  async function resolveTarget(): Promise<Target | undefined> {
    const record = await readDeploymentRecord(store, model, alias);
    if (record) {
      return { stable: record.stable.version, ...(record.canary ? { canary: { ...record.canary } } : {}), source: 'deployment record' };
    }
    const version = await registry.resolveAlias(model, alias);
    return version ? { stable: version.version, stableRecord: version, source: 'alias' } : undefined;
  }

  async function load(version: number, known?: ModelVersion): Promise<LoadedModel> {
    for (const m of [routing?.stable, routing?.canary?.model]) if (m?.version === version) return m;
    const record = known ?? (await registry.getVersion(model, version));
    if (!record) throw new MlcycleError('NOT_FOUND', `model "${model}" has no version ${version}`);
    const onnx = await loadServableOnnx(store, record.modelUri);
    if (onnx) {
      if (onnx.description.task === 'multiclass') throw new MlcycleError('ARTIFACT_INTEGRITY', 'serving multiclass ONNX models is not supported yet');
      return { version, modelUri: record.modelUri, onnx, body: buildRequestSchema(requestColumns(onnx.description.features), maxRows) };
    }
    const artifact = parseModelArtifact(await store.getJson(record.modelUri));
    return { version, modelUri: record.modelUri, artifact, body: buildRequestSchema(artifact.encoder, maxRows) };
  }

  const unchanged = (r: Routing | undefined, t: Target): boolean =>
    r !== undefined &&
    r.stable.version === t.stable &&
    r.canary?.model.version === t.canary?.version &&
    r.canary?.percent === t.canary?.percent;

  async function refreshOnce(): Promise<void> {
    let target: Target | undefined;
    try {
      target = await resolveTarget();
      if (!target) {
        problem(
          routing
            ? `model "${model}": alias "${alias}" is no longer set and there is no deployment record; still serving ${describeRouting(routing)}`
            : `model "${model}": alias "${alias}" is not set and there is no deployment record yet; /predict answers 503 until one is`,
        );
        return;
      }
      if (unchanged(routing, target)) {
        lastProblem = undefined;
        return;
      }
      const canaryTarget = target.canary;
      // Load first (download + parse), swap after: requests keep being served by the old models.
      const [stable, canary] = await Promise.all([
        load(target.stable, target.stableRecord),
        canaryTarget ? load(canaryTarget.version) : Promise.resolve(undefined),
      ]);
      const next: Routing = { stable, ...(canary && canaryTarget ? { canary: { model: canary, percent: canaryTarget.percent } } : {}) };
      const previous = routing;
      routing = next;
      credit = 0;
      modelVersion.set({ role: 'stable' }, stable.version);
      if (next.canary) modelVersion.set({ role: 'canary' }, next.canary.model.version);
      else modelVersion.remove({ role: 'canary' });
      canaryPercent.set(next.canary?.percent ?? 0);
      lastProblem = undefined;
      log(`model "${model}" (${alias}, from the ${target.source}): now serving ${describeRouting(next)}${previous ? ` (was ${describeRouting(previous)})` : ''}`);
    } catch (err) {
      const wanted = target ? `v${target.stable}${target.canary ? ` + canary v${target.canary.version}` : ''}` : 'the deployment';
      problem(`model "${model}" (${alias}): could not load ${wanted}: ${errorText(err)}; ${routing ? `still serving ${describeRouting(routing)}` : 'nothing is serving yet'}`);
    }
  }

  let chain: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => (chain = chain.then(refreshOnce));

  let timer: NodeJS.Timeout | undefined;
  let state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  function schedule(): void {
    if (state !== 'started') return;
    timer = setTimeout(() => {
      void refresh().then(schedule);
    }, refreshMs);
  }

  function pick(r: Routing): LoadedModel {
    if (!r.canary || r.canary.percent <= 0) return r.stable;
    credit += r.canary.percent;
    if (credit >= 100) {
      credit -= 100;
      return r.canary.model;
    }
    return r.stable;
  }

  // ---- HTTP ------------------------------------------------------------------------------------
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    forceCloseConnections: 'idle',
  });

  // A response schema lets fastify serialize the 200 answer with a compiled serializer.
  const predictSchema: FastifySchema = {
    response: {
      200: {
        type: 'object',
        properties: {
          model: { type: 'string' },
          version: { type: 'integer' },
          predictions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                probability: { type: 'number' },
                label: { type: ['boolean', 'string'] },
                class: { type: 'string' },
                probabilities: { type: 'object', additionalProperties: { type: 'number' } },
                value: { type: 'number' },
              },
            },
          },
        },
      },
    },
  };

  // Checked before the body is read; /healthz stays open for liveness probes.
  if (options.token !== undefined) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      if (path === '/healthz') return;
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return;
      reply.header('WWW-Authenticate', 'Bearer realm="mlcycle-serve"');
      reply.header('Connection', 'close');
      return reply.code(401).send({ error: 'a Bearer token is required (the service was started with --token-file)' });
    });
  }

  app.post('/predict', { schema: predictSchema }, async (request, reply) => {
    const started = performance.now();
    // The one read of the routing: everything below uses the model chosen here, whatever swaps.
    const current = routing;
    if (!current) {
      countAnswer('none', 503, started);
      return reply.code(503).send({ error: `no version of model "${model}" (${alias}) is loaded yet` });
    }
    const served = pick(current);
    const version = String(served.version);
    reply.header('x-model-version', version);
    const parsed = served.body.safeParse(request.body);
    if (!parsed.success) {
      const { issues, total } = toIssues(parsed.error);
      countAnswer(version, 400, started);
      const first = issues[0];
      return reply.code(400).send({
        error: `invalid request: ${total} problem${total === 1 ? '' : 's'}${first ? `, first ${first.path}: ${first.message}` : ''}`,
        issues,
        ...(total > issues.length ? { issuesOmitted: total - issues.length } : {}),
      });
    }
    // Out-of-range checks use the training statistics a built-in model carries; ONNX models have none.
    const ranged = served.artifact ? applyOutOfRange(served.artifact, parsed.data.rows, options.outOfRange ?? 'refuse') : { rows: [...parsed.data.rows], issues: [] as Issue[] };
    if (ranged.issues.length > 0) {
      countAnswer(version, 400, started);
      const total = ranged.issues.length;
      return reply.code(400).send({
        error: `invalid request: ${total} problem${total === 1 ? '' : 's'}, first ${ranged.issues[0]!.path}: ${ranged.issues[0]!.message}`,
        issues: ranged.issues.slice(0, MAX_ISSUES),
        ...(total > MAX_ISSUES ? { issuesOmitted: total - MAX_ISSUES } : {}),
      });
    }
    const rows = ranged.rows;
    let probabilities: number[];
    let predictions: RowPrediction[];
    try {
      if (served.onnx) {
        const scores = Array.from((await served.onnx.model.score(rows)).values as Float64Array);
        probabilities = scores;
        predictions = onnxPredictions(served.onnx.description, scores);
      } else ({ scores: probabilities, predictions } = predictRows(served.artifact!, rows));
    } catch (err) {
      countAnswer(version, 500, started);
      problem(`model "${model}" v${version}: prediction failed: ${errorText(err)}`);
      return reply.code(500).send({ error: `prediction failed: ${errorText(err)}` });
    }
    const unscorable = served.artifact ? unscorableIssues(served.artifact, rows, probabilities) : nanIssues(probabilities);
    if (unscorable.total > 0) {
      countAnswer(version, 400, started);
      const { issues, total } = unscorable;
      return reply.code(400).send({
        error: `invalid request: ${total} problem${total === 1 ? '' : 's'}, first ${issues[0]!.path}: ${issues[0]!.message}`,
        issues,
        ...(total > issues.length ? { issuesOmitted: total - issues.length } : {}),
      });
    }
    try {
      const ts = new Date().toISOString();
      const entries: PredictionLogEntry[] = rows.map((inputs, i) => ({
        ts,
        model,
        version: served.version,
        inputs,
        probability: probabilities[i]!,
      }));
      logger.add(entries);
    } catch {
      // Logging never fails a prediction.
    }
    countAnswer(version, 200, started);
    const body: PredictResponse = { model, version: served.version, predictions };
    return body;
  });

  app.get('/healthz', async (_request, reply) => {
    const r = routing;
    const body = {
      status: r ? 'ok' : 'loading',
      model,
      alias,
      stable: r ? r.stable.version : null,
      canary: r?.canary ? { version: r.canary.model.version, percent: r.canary.percent } : null,
      ...(r || lastProblem === undefined ? {} : { detail: lastProblem }),
    };
    return reply.code(r ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.metrics();
    return reply.header('content-type', metrics.contentType).send(text);
  });

  // Bodies fastify itself rejects (not JSON, too large, wrong content type) get the same shape.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (request.routeOptions.url === '/predict') countAnswer('none', status, undefined);
    if (status >= 500) {
      problem(`${request.method} ${request.url} failed: ${err.message}`);
      return reply.code(status).send({ error: 'internal error' });
    }
    return reply.code(status).send({ error: err.message, issues: [] });
  });

  return {
    async start() {
      if (state !== 'new') throw new MlcycleError('USAGE', 'a prediction server can only be started once');
      state = 'started';
      await refresh();
      try {
        await app.listen({ host, port });
      } catch (err) {
        state = 'stopped';
        await logger.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') {
          throw new MlcycleError('PORT_IN_USE', `prediction server: port ${port} on ${host} is already in use (use --port)`, { cause: err });
        }
        throw err;
      }
      schedule();
      const address = app.server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${shownHost}:${address.port}` };
    },

    async stop() {
      if (state !== 'started') return;
      state = 'stopping';
      if (timer) clearTimeout(timer);
      await chain;
      await app.close();
      await logger.close();
      state = 'stopped';
    },

    current() {
      const r = routing;
      return {
        stable: r ? r.stable.version : null,
        ...(r?.canary ? { canary: { version: r.canary.model.version, percent: r.canary.percent } } : {}),
      };
    },

    refresh,
  };
}
