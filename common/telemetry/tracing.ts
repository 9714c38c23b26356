import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { z } from 'zod';
import { env } from '../config/load-config';

/** Every service's tracing variables (docs/observability.md). */
export const telemetryEnv = {
  /** Off: the service neither records spans nor continues or passes on a caller's `traceparent`. */
  TRACING_ENABLED: env.boolean(true),
  /** Spans go to this OTLP/HTTP collector (`http://otel-collector:4318`); unset, none are recorded. */
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url().optional(),
  /** The `service.name` of this process's spans; the service's own name when unset. */
  OTEL_SERVICE_NAME: z.string().optional(),
};

export interface TelemetryConfig {
  TRACING_ENABLED: boolean;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
}

/** The recording half (span-export.ts), once loaded. */
let exporting: import('./span-export').SpanExport | undefined;

/**
 * Sets up a process's tracing, before the modules it instruments (pg, ioredis) are loaded: the
 * W3C trace-context propagator always (cheap, and only used where a trace is passed on); with an
 * endpoint, the SDK that records and exports spans, and the instrumentations. Without one no
 * tracer provider is registered and none of the SDK is even loaded, so every span the code starts
 * is OpenTelemetry's no-op and the hot path pays nothing for it.
 */
export function startTracing(service: string, config: TelemetryConfig): void {
  if (!config.TRACING_ENABLED) return;
  propagateTraceContext();
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT || exporting) return;
  // Loaded here, not imported: a process without a collector never loads the SDK or the instrumentations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { exportSpans } = require('./span-export') as typeof import('./span-export');
  exporting = exportSpans({
    serviceName: config.OTEL_SERVICE_NAME ?? service,
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
}

/** W3C `traceparent`/`tracestate` for every inject and extract in this process. */
export function propagateTraceContext(): void {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** Whether this process records spans: code that would only feed a recorder (a wrapper, a plugin) is left out otherwise. */
export const tracingRecorded = (): boolean => exporting !== undefined;

/** Exports the spans not yet sent (a no-op when none are recorded). */
export const flushTracing = (): Promise<void> => exporting?.flush() ?? Promise.resolve();
