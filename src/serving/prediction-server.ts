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
 *                     {probability, label, class, probabilities} at 0.5, multiclass with the classes
 *                     of the spec's category target in declared order, regression {value}; see src/onnx)
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
 *
 * The parts: request-checks.ts (body schema, out-of-range, unscorable rows), canary-router.ts
 * (stable/canary split), model-refresher.ts (hot swap), serving-metrics.ts (names from
 * observability/metric-names.ts), predict-routes.ts (HTTP); this file wires them and owns the
 * lifecycle.
 */
import type { AddressInfo } from 'node:net';
import { listeningUrl } from '../stack/fastify-lifecycle';
import Fastify, { type FastifyInstance } from 'fastify';
import { MlcycleError } from '../errors';
import { ALIAS_NAME, MODEL_NAME, type ModelRegistry } from '../registry/model-registry';
import type { ArtifactStore } from '../storage/artifact-store';
import { createCanaryRouter } from './canary-router';
import { createModelRefresher } from './model-refresher';
import { registerPredictRoutes } from './predict-routes';
import { createPredictionLogger } from './prediction-log';
import { createProblemLog } from './problem-log';
import type { OutOfRangeRule } from './request-checks';
import { createServingMetrics } from './serving-metrics';

export { applyOutOfRange, buildRequestSchema, OUT_OF_RANGE_Z, type OutOfRangeRule } from './request-checks';
export type { PredictResponse } from './predict-routes';

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
  /** …or as soon as this many rows are buffered. Default 5000. */
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
   * `clip` it to that bound (non-finite still refused), or `allow` it. Unset: each model's own rule,
   * from the `serve.outOfRange` of the spec that trained it (else refuse); set, it overrides that.
   */
  outOfRange?: OutOfRangeRule;
  /** When set, /predict and /metrics require `Authorization: Bearer <token>`; /healthz stays open. */
  token?: string;
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

  const metrics = createServingMetrics();
  const problems = createProblemLog(log);
  const router = createCanaryRouter();
  const logger = createPredictionLogger({
    store,
    model,
    flushMs: options.logFlushMs ?? 2000,
    // Large batches: every object written costs a PUT (SDK work here, the store's work there), and
    // under load a row-count flush would otherwise fire many times a second; flushMs bounds the delay.
    batchRows: options.logBatchRows ?? 5000,
    log,
    onWritten: (n) => metrics.logRows('written', n),
    onDropped: (n) => metrics.logRows('dropped', n),
    onTruncated: (n) => metrics.logRows('truncated', n),
  });
  const refresher = createModelRefresher({ store, registry, model, alias, maxRows, refreshMs, router, metrics, problems, log });

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    forceCloseConnections: 'idle',
  });
  registerPredictRoutes(app, {
    model,
    alias,
    ...(options.outOfRange !== undefined ? { outOfRange: options.outOfRange } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    router,
    metrics,
    logger,
    problems,
  });

  let state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  return {
    async start() {
      if (state !== 'new') throw new MlcycleError('USAGE', 'a prediction server can only be started once');
      state = 'started';
      await refresher.refresh();
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
      refresher.start();
      // Listening on host:port (not a pipe), so the address is an AddressInfo.
      return { url: listeningUrl(app.server.address() as AddressInfo) };
    },

    async stop() {
      if (state !== 'started') return;
      state = 'stopping';
      await refresher.stop();
      await app.close();
      await logger.close();
      state = 'stopped';
    },

    current() {
      const r = router.routing();
      return {
        stable: r ? r.stable.version : null,
        ...(r?.canary ? { canary: { version: r.canary.model.version, percent: r.canary.percent } } : {}),
      };
    },

    refresh: () => refresher.refresh(),
  };
}
