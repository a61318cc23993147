import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { runtimeOptions } from '../../src/observability/runtime';
import { observabilitySettings, parseMetricsAddress } from '../../src/observability/settings';
import { parseEnv } from '../../src/config/env';

describe('observability settings', () => {
  it('default to text logs at WARN, no metrics endpoint and no tracing', () => {
    expect(observabilitySettings({})).toEqual({ logFormat: 'text', logLevel: 'WARN', serviceName: 'mlcycle' });
  });

  it('log JSON at INFO unless a level is given, in any case', () => {
    expect(observabilitySettings({ MLCYCLE_LOG_FORMAT: 'json' })).toMatchObject({ logFormat: 'json', logLevel: 'INFO' });
    expect(observabilitySettings({ MLCYCLE_LOG_FORMAT: 'json', MLCYCLE_LOG_LEVEL: 'debug' })).toMatchObject({ logLevel: 'DEBUG' });
  });

  it('turn tracing on from either endpoint variable, mlcycle first, and treat empty as unset', () => {
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otlpEndpoint).toBe('http://collector:4318');
    expect(observabilitySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', MLCYCLE_OTEL_ENDPOINT: 'http://b:4318' }).otlpEndpoint).toBe('http://b:4318');
    expect(observabilitySettings({ MLCYCLE_OTEL_ENDPOINT: '', MLCYCLE_METRICS_ADDRESS: '' })).toEqual(observabilitySettings({}));
    expect(observabilitySettings({ OTEL_SERVICE_NAME: 'ml-worker' }).serviceName).toBe('ml-worker');
  });

  it('name every bad variable and what was expected', () => {
    let error: unknown;
    try {
      observabilitySettings({ MLCYCLE_LOG_FORMAT: 'yaml', MLCYCLE_LOG_LEVEL: 'loud', MLCYCLE_METRICS_ADDRESS: '9464', MLCYCLE_OTEL_ENDPOINT: 'collector:4318' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MlcycleError);
    const message = (error as MlcycleError).message;
    expect((error as MlcycleError).code).toBe('CONFIG_INVALID');
    expect(message).toContain('MLCYCLE_LOG_FORMAT: expected text or json');
    expect(message).toContain('MLCYCLE_LOG_LEVEL: expected one of TRACE, DEBUG, INFO, WARN, ERROR');
    expect(message).toContain('MLCYCLE_METRICS_ADDRESS: expected host:port');
    expect(message).toContain('MLCYCLE_OTEL_ENDPOINT: expected an http(s) URL');
  });

  it('are part of the environment every command checks', () => {
    expect(() => parseEnv({ MLCYCLE_LOG_FORMAT: 'xml' })).toThrow(/MLCYCLE_LOG_FORMAT/);
    expect(parseEnv({ MLCYCLE_METRICS_ADDRESS: '0.0.0.0:9464' }).MLCYCLE_METRICS_ADDRESS).toBe('0.0.0.0:9464');
  });

  it('check --metrics-address like the variable', () => {
    expect(parseMetricsAddress('127.0.0.1:9464')).toBe('127.0.0.1:9464');
    expect(() => parseMetricsAddress('http://127.0.0.1:9464')).toThrow(InvalidArgumentError);
  });
});

describe('runtime options', () => {
  it('serve Prometheus only with an address, with stage buckets from seconds to days', () => {
    expect(runtimeOptions(observabilitySettings({})).telemetryOptions?.metrics).toBeUndefined();
    const metrics = runtimeOptions(observabilitySettings({ MLCYCLE_METRICS_ADDRESS: '127.0.0.1:9464' })).telemetryOptions?.metrics;
    expect(metrics).toMatchObject({ prometheus: { bindAddress: '127.0.0.1:9464' } });
    const buckets = (metrics as { prometheus: { histogramBucketOverrides: Record<string, number[]> } }).prometheus.histogramBucketOverrides.mlcycle_stage_duration_seconds;
    expect(buckets?.[0]).toBeLessThan(1);
    expect(buckets?.at(-1)).toBeGreaterThanOrEqual(86_400);
  });

  it('forward Core logs to the same logger, without its per-poll DEBUG unless TRACE', () => {
    expect(runtimeOptions(observabilitySettings({ MLCYCLE_LOG_LEVEL: 'DEBUG' })).telemetryOptions?.logging).toMatchObject({ filter: { core: 'INFO' }, forward: {} });
    expect(runtimeOptions(observabilitySettings({ MLCYCLE_LOG_LEVEL: 'TRACE' })).telemetryOptions?.logging).toMatchObject({ filter: { core: 'DEBUG' } });
    expect(runtimeOptions(observabilitySettings({})).telemetryOptions?.logging).toMatchObject({ filter: { core: 'WARN' } });
  });
});
