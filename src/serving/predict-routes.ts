/**
 * The prediction service's HTTP routes (see the top of prediction-server.ts for what they answer):
 * the optional Bearer check, /predict, /healthz, /metrics and one error shape for bodies fastify
 * itself rejects.
 */
import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyInstance, FastifySchema } from 'fastify';
import { predictRows, type RowPrediction } from '../training/model-artifact';
import type { CanaryRouter } from './canary-router';
import type { PredictionLogEntry, PredictionLogger } from './prediction-log';
import type { ProblemLog } from './problem-log';
import { applyOutOfRange, MAX_ISSUES, nanIssues, onnxPredictions, toIssues, unscorableIssues, type OutOfRangeRule } from './request-checks';
import type { ServingMetrics } from './serving-metrics';

export interface PredictResponse {
  model: string;
  version: number;
  /** Binary: {probability, label (threshold applied), class, probabilities}; multiclass: {label, class, probability, probabilities}; regression: {value}. */
  predictions: RowPrediction[];
}

export interface PredictRoutesOptions {
  model: string;
  alias: string;
  /** Overrides the rule each model carries from its spec (`serve.outOfRange`, else refuse). */
  outOfRange?: OutOfRangeRule;
  token?: string;
  router: CanaryRouter;
  metrics: ServingMetrics;
  logger: PredictionLogger;
  problems: ProblemLog;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function registerPredictRoutes(app: FastifyInstance, options: PredictRoutesOptions): void {
  const { model, alias, router, metrics, logger, problems } = options;

  // The log's `ts`, formatted once per millisecond rather than once per request (the same string).
  let isoMs = -1;
  let iso = '';
  const nowIso = (): string => {
    const ms = Date.now();
    if (ms !== isoMs) {
      isoMs = ms;
      iso = new Date(ms).toISOString();
    }
    return iso;
  };

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
    const current = router.routing();
    if (!current) {
      metrics.countAnswer('none', 503, started);
      return reply.code(503).send({ error: `no version of model "${model}" (${alias}) is loaded yet` });
    }
    const served = router.pick(current);
    const version = String(served.version);
    reply.header('x-model-version', version);
    const parsed = served.body.safeParse(request.body);
    if (!parsed.success) {
      const { issues, total } = toIssues(parsed.error);
      metrics.countAnswer(version, 400, started);
      const first = issues[0];
      return reply.code(400).send({
        error: `invalid request: ${total} problem${total === 1 ? '' : 's'}${first ? `, first ${first.path}: ${first.message}` : ''}`,
        issues,
        ...(total > issues.length ? { issuesOmitted: total - issues.length } : {}),
      });
    }
    // The training statistics of either kind of model: a built-in encoder's, or those written beside an ONNX model.
    const ranged = applyOutOfRange(served.range.columns, parsed.data.rows, options.outOfRange ?? served.range.rule);
    if (ranged.issues.length > 0) {
      metrics.countAnswer(version, 400, started);
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
        ({ scores: probabilities, predictions } = onnxPredictions(served.onnx.description, await served.onnx.model.score(rows)));
      } else ({ scores: probabilities, predictions } = predictRows(served.artifact!, rows));
    } catch (err) {
      metrics.countAnswer(version, 500, started);
      problems.report(`model "${model}" v${version}: prediction failed: ${errorText(err)}`);
      return reply.code(500).send({ error: `prediction failed: ${errorText(err)}` });
    }
    const unscorable = served.artifact ? unscorableIssues(served.artifact, rows, probabilities) : nanIssues(probabilities);
    if (unscorable.total > 0) {
      metrics.countAnswer(version, 400, started);
      const { issues, total } = unscorable;
      return reply.code(400).send({
        error: `invalid request: ${total} problem${total === 1 ? '' : 's'}, first ${issues[0]!.path}: ${issues[0]!.message}`,
        issues,
        ...(total > issues.length ? { issuesOmitted: total - issues.length } : {}),
      });
    }
    try {
      const ts = nowIso();
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
    metrics.countAnswer(version, 200, started);
    const body: PredictResponse = { model, version: served.version, predictions };
    return body;
  });

  app.get('/healthz', async (_request, reply) => {
    const r = router.routing();
    const body = {
      status: r ? 'ok' : 'loading',
      model,
      alias,
      stable: r ? r.stable.version : null,
      canary: r?.canary ? { version: r.canary.model.version, percent: r.canary.percent } : null,
      ...(r || problems.last() === undefined ? {} : { detail: problems.last() }),
    };
    return reply.code(r ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  // Bodies fastify itself rejects (not JSON, too large, wrong content type) get the same shape.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (request.routeOptions.url === '/predict') metrics.countAnswer('none', status, undefined);
    if (status >= 500) {
      problems.report(`${request.method} ${request.url} failed: ${err.message}`);
      return reply.code(status).send({ error: 'internal error' });
    }
    return reply.code(status).send({ error: err.message, issues: [] });
  });
}
