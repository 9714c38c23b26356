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
  // The async-hooks context manager and the W3C trace-context propagator.
  installed.register();
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
  // Everything Apollo does for this request runs inside the caller's trace context. It must sit
  // after body parsing: stream callbacks do not carry the async context of the middleware.
  const continueTrace: RequestHandler = (req, _res, next) =>
    context.with(propagation.extract(ROOT_CONTEXT, req.headers), next);
  return {
    name: 'tracing',
    graphqlRequest: [continueTrace],
    stop: () => provider.forceFlush(),
  };
}
