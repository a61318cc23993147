import { InvalidArgumentError } from 'commander';
import type { LogLevel } from '@temporalio/common';
import { EnvSchema } from '../config/env';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';

export type LogFormat = 'text' | 'json';

export interface ObservabilitySettings {
  /** host:port of the Prometheus endpoint; undefined: no exporter. */
  metricsAddress?: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** OTLP/HTTP base URL; undefined: tracing off. */
  otlpEndpoint?: string;
  serviceName: string;
}

const ObservabilityEnv = EnvSchema.pick({
  MLCYCLE_METRICS_ADDRESS: true,
  MLCYCLE_LOG_FORMAT: true,
  MLCYCLE_LOG_LEVEL: true,
  MLCYCLE_OTEL_ENDPOINT: true,
  OTEL_EXPORTER_OTLP_ENDPOINT: true,
  OTEL_SERVICE_NAME: true,
});

/**
 * Only the observability variables: the runtime, client and worker read them on their own, and an
 * unrelated bad variable must not stop a library user's process from logging.
 */
export function observabilitySettings(source: NodeJS.ProcessEnv = process.env): ObservabilitySettings {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = ObservabilityEnv.safeParse(cleaned);
  if (!result.success) {
    throw new MlcycleError('CONFIG_INVALID', `invalid environment:\n${formatIssues(result.error)}`);
  }
  const env = result.data;
  const logFormat = env.MLCYCLE_LOG_FORMAT;
  const otlpEndpoint = env.MLCYCLE_OTEL_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    ...(env.MLCYCLE_METRICS_ADDRESS ? { metricsAddress: env.MLCYCLE_METRICS_ADDRESS } : {}),
    logFormat,
    logLevel: env.MLCYCLE_LOG_LEVEL ?? (logFormat === 'json' ? 'INFO' : 'WARN'),
    ...(otlpEndpoint ? { otlpEndpoint: otlpEndpoint.replace(/\/+$/, '') } : {}),
    serviceName: env.OTEL_SERVICE_NAME ?? 'mlcycle',
  };
}

/** `--metrics-address`, checked the way MLCYCLE_METRICS_ADDRESS is. */
export function parseMetricsAddress(value: string): string {
  const r = EnvSchema.shape.MLCYCLE_METRICS_ADDRESS.safeParse(value);
  if (!r.success || !r.data) throw new InvalidArgumentError(`expected host:port, e.g. 0.0.0.0:9464, got "${value}"`);
  return r.data;
}
