/**
 * The prediction service's Prometheus metrics, in a registry of its own (not prom-client's global
 * one, so two services in one process do not mix). Names and their meaning: metric-names.ts and
 * the top of prediction-server.ts.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  CANARY_PERCENT,
  MODEL_VERSION,
  PREDICTION_LOG_ROWS_TOTAL,
  PREDICT_ERRORS_TOTAL,
  PREDICT_LATENCY_SECONDS,
  PREDICT_REQUESTS_TOTAL,
} from '../observability/metric-names';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface ServingMetrics {
  readonly registry: Registry;
  /** One /predict answer: `version` "none" when no model was chosen; `started` from performance.now(), absent when not timed. */
  countAnswer(version: string, status: number, started: number | undefined): void;
  /** The versions serving now (the canary's gauge is removed when there is none). */
  setServing(stable: number, canary: { version: number; percent: number } | undefined): void;
  logRows(outcome: 'written' | 'dropped' | 'truncated', rows: number): void;
}

export function createServingMetrics(): ServingMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestsTotal = new Counter({
    name: PREDICT_REQUESTS_TOTAL,
    help: 'Prediction requests answered, by model version and HTTP status',
    labelNames: ['version', 'status'] as const,
    registers: [registry],
  });
  const errorsTotal = new Counter({
    name: PREDICT_ERRORS_TOTAL,
    help: 'Prediction requests answered without predictions (4xx and 5xx), by model version',
    labelNames: ['version'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: PREDICT_LATENCY_SECONDS,
    help: 'Time to validate and score a prediction request',
    labelNames: ['version'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const modelVersion = new Gauge({
    name: MODEL_VERSION,
    help: 'The model version serving, by role',
    labelNames: ['role'] as const,
    registers: [registry],
  });
  const canaryPercent = new Gauge({
    name: CANARY_PERCENT,
    help: 'Percentage of prediction requests routed to the canary version',
    registers: [registry],
  });
  canaryPercent.set(0);
  const logRows = new Counter({
    name: PREDICTION_LOG_ROWS_TOTAL,
    help: 'Prediction log rows written to the artifact store, dropped (store down too long, or not JSON), or truncated (larger than the row limit; written truncated)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  // The labelled children, looked up once per (version, status): prom-client hashes the label
  // object on every inc/observe otherwise, a measurable share of a one-row /predict.
  const answers = new Map<string, { requests: Counter.Internal; errors: Counter.Internal | undefined; latency: Histogram.Internal<'version'> }>();
  const answerSeries = (version: string, status: number) => {
    const key = `${version}\0${status}`;
    let s = answers.get(key);
    if (!s) {
      s = {
        requests: requestsTotal.labels({ version, status: String(status) }),
        errors: status >= 400 ? errorsTotal.labels({ version }) : undefined,
        latency: latency.labels({ version }),
      };
      answers.set(key, s);
    }
    return s;
  };

  return {
    registry,
    countAnswer(version, status, started) {
      const s = answerSeries(version, status);
      s.requests.inc();
      s.errors?.inc();
      if (started !== undefined) s.latency.observe((performance.now() - started) / 1000);
    },
    setServing(stable, canary) {
      modelVersion.set({ role: 'stable' }, stable);
      if (canary) modelVersion.set({ role: 'canary' }, canary.version);
      else modelVersion.remove({ role: 'canary' });
      canaryPercent.set(canary?.percent ?? 0);
    },
    logRows(outcome, rows) {
      logRows.inc({ outcome }, rows);
    },
  };
}
