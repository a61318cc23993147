import type { LogLevel } from '@temporalio/common';
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { MlcycleError } from '../errors';
import { createRuntimeLogger, jsonProcessWarnings } from './logging';
import { STAGE_DURATION_BUCKETS, STAGE_DURATION_SECONDS } from './metric-names';
import type { ObservabilitySettings } from './settings';

/**
 * Runtime options for the settings: one logger for the SDK, workflows, activities and (forwarded)
 * Core, and, with a metrics address, one Prometheus endpoint for the SDK's temporal_* metrics and
 * mlcycle's own (recorded through the SDK's metric meters).
 */
export function runtimeOptions(settings: ObservabilitySettings): RuntimeOptions {
  return {
    // mlcycle handles SIGINT/SIGTERM itself so services are stopped only after the workers have drained.
    shutdownSignals: [],
    logger: createRuntimeLogger({ format: settings.logFormat, level: settings.logLevel }),
    telemetryOptions: {
      // Core's own lines would otherwise go straight to the console in their own format.
      logging: { filter: { core: coreLogLevel(settings.logLevel), other: 'ERROR' }, forward: {} },
      ...(settings.metricsAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: settings.metricsAddress,
                histogramBucketOverrides: { [STAGE_DURATION_SECONDS]: STAGE_DURATION_BUCKETS },
              },
            },
          }
        : {}),
    },
  };
}

/**
 * Core logs every poll at DEBUG: someone debugging their workflows at DEBUG gets Core's INFO, and
 * only TRACE opens Core's DEBUG firehose.
 */
function coreLogLevel(level: LogLevel): LogLevel {
  if (level === 'TRACE') return 'DEBUG';
  if (level === 'DEBUG') return 'INFO';
  return level;
}

/** Runtime.install with the settings; a metrics address that cannot be bound is a configuration error. */
export function installObservableRuntime(settings: ObservabilitySettings): void {
  try {
    Runtime.install(runtimeOptions(settings));
  } catch (err) {
    const message = (err as Error).message;
    if (settings.metricsAddress && /prometheus/i.test(message)) {
      throw new MlcycleError(
        /in use/i.test(message) ? 'PORT_IN_USE' : 'CONFIG_INVALID',
        `cannot serve metrics on ${settings.metricsAddress} (MLCYCLE_METRICS_ADDRESS / --metrics-address): ${message}`,
        { cause: err },
      );
    }
    throw err;
  }
  if (settings.logFormat === 'json') jsonProcessWarnings({ level: settings.logLevel });
}
