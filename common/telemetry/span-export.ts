import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-node';

/** The recording half of a process's tracing, loaded only when spans are exported. */
export interface SpanExport {
  /** Sends the spans still batched; a graceful stop calls it. */
  flush(): Promise<void>;
}

export interface SpanExportOptions {
  serviceName: string;
  /** An OTLP/HTTP collector's base URL; spans go to `<endpoint>/v1/traces` as JSON. */
  endpoint: string;
}

/**
 * The OpenTelemetry SDK of a process whose spans are exported: a tracer provider with the async
 * context manager that nests spans, batches over OTLP/HTTP (OTEL_BSP_SCHEDULE_DELAY and the other
 * OTEL_BSP_* variables tune the batches), and the maintained instrumentations of the stores'
 * clients. Store calls are recorded only inside a trace (`requireParent…`): the background jobs'
 * polling would otherwise start a trace of its own every few hundred milliseconds. Statements are
 * recorded without their values, and Redis commands by name only (no key, no argument).
 */
export function exportSpans(options: SpanExportOptions): SpanExport {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/$/, '')}/v1/traces` }),
      ),
    ],
    // A caller's sampling decision is kept; a trace that starts here is recorded.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // PostgreSQL, as MikroORM (through knex) and the migrations use it.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      // fetch: the model providers' calls, and the chromadb client's (collections made, listed,
      // dropped); each carries the trace on in `traceparent`. A turn's Chroma queries and upserts
      // (ChromaRest) and chat's calls to the conversation subgraph go over kept-alive node:http
      // agents and make spans of their own (common/telemetry/client-span.ts).
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  return { flush: () => provider.forceFlush() };
}
