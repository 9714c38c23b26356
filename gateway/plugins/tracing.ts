import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { RequestHandler } from 'express';
import type { GatewayPlugin } from './plugin';

export interface TracingOptions {
  serviceName: string;
  /** An OTLP/HTTP collector's base URL (`http://collector:4318`); without it spans stay in-process. */
  otlpEndpoint?: string;
}

export const DEFAULT_TRACING: TracingOptions = { serviceName: 'gateway' };

/** The tracer provider is process-wide (OpenTelemetry's API is global): the first gateway installs it. */
let installed: NodeTracerProvider | undefined;

function installTracerProvider(options: TracingOptions): NodeTracerProvider {
  if (installed) return installed;
  const exporter = options.otlpEndpoint
    ? new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
    : undefined;
  installed = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: exporter ? [new BatchSpanProcessor(exporter)] : [],
    // A caller's sampling decision is kept. Without a collector, spans of the gateway's own traces
    // would go nowhere, so they are not recorded: trace ids are still made and propagated.
    sampler: new ParentBasedSampler({ root: exporter ? new AlwaysOnSampler() : new AlwaysOffSampler() }),
  });
  // The W3C trace-context propagator always. The async context manager that nests spans only when
  // spans are exported: on Node 20 it hooks every promise, which costs a streaming gateway a third
  // more CPU per event and most of its tail latency (docs/subscriptions.md); unrecorded spans gain nothing from it.
  installed.register(exporter ? {} : { contextManager: null });
  return installed;
}

/**
 * OpenTelemetry tracing. @apollo/gateway already emits spans for each operation (validate,
 * plan, execute) and each subgraph fetch through @opentelemetry/api; this installs the SDK that
 * records them, continues a caller's W3C `traceparent`, and exports over OTLP when configured.
 * Subgraph requests carry the trace on (signed-data-source.ts injects `traceparent`), even with
 * no collector, so subgraph logs can be joined to a trace.
 */
export function useTracing(options: TracingOptions): GatewayPlugin {
  const provider = installTracerProvider(options);
  // With spans exported, everything Apollo does for this request runs inside the caller’s trace
  // (tracing.test.ts checks it; the body parser after it keeps the async context).
  const continueTrace: RequestHandler = (req, _res, next) =>
    context.with(propagation.extract(ROOT_CONTEXT, req.headers), next);
  return {
    name: 'tracing',
    graphqlRequest: [continueTrace],
    stop: () => provider.forceFlush(),
  };
}
