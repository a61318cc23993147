import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { AsyncLocalStorageContextManager } from './context-manager';
import { observabilitySettings } from './settings';

export interface Tracing {
  /** OTLP/HTTP base URL the spans go to (at /v1/traces). */
  readonly endpoint: string;
  readonly resource: Resource;
  readonly spanProcessor: SpanProcessor;
  /** Sends the spans still batched; a short-lived process must call it before it exits. */
  flush(): Promise<void>;
}

/** Set up once per process: OpenTelemetry has one global tracer provider and context manager. */
let current: { tracing: Tracing | undefined } | undefined;

/**
 * This process's tracing, from MLCYCLE_OTEL_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT on first use;
 * undefined when neither is set.
 */
export function processTracing(): Tracing | undefined {
  if (!current) {
    const settings = observabilitySettings();
    current = { tracing: settings.otlpEndpoint ? startTracing(settings.otlpEndpoint, settings.serviceName) : undefined };
  }
  return current.tracing;
}

function startTracing(endpoint: string, serviceName: string): Tracing {
  const resource = new Resource({ 'service.name': serviceName });
  // OTLP/HTTP with JSON bodies: any collector accepts it, and it needs no protobuf dependency.
  const exporter = new OTLPTraceExporter({ url: `${endpoint}/v1/traces` });
  const spanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The default propagator (W3C trace context) is what the Temporal interceptors put in headers.
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  const flush = () => provider.forceFlush();
  // CLI commands end by letting the event loop drain; the last batch goes out then.
  process.once('beforeExit', () => {
    flush().catch(() => undefined);
  });
  return { endpoint, resource, spanProcessor, flush };
}

/** Client interceptors that start a trace per workflow start/signal/query and carry it in headers. */
export function tracingClientInterceptors(): ClientInterceptors | undefined {
  return processTracing() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

export interface WorkerTracing {
  activityInterceptors: ActivityInterceptorsFactory[];
  /** Workflow spans are made in the sandbox and leave it through this sink. */
  sinks: InjectedSinks<OpenTelemetrySinks>;
}

/** What a worker adds for tracing; the workflow side is in the tracing workflow bundle. */
export function workerTracing(): WorkerTracing | undefined {
  const tracing = processTracing();
  if (!tracing) return undefined;
  return {
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

