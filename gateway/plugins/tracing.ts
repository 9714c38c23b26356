import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { propagateTraceContext } from '../../common/telemetry/tracing';
import type { GatewayPlugin } from './plugin';

/**
 * OpenTelemetry tracing. @apollo/gateway already emits spans for each operation (validate, plan,
 * execute) and each subgraph fetch through @opentelemetry/api; the process's tracing
 * (common/telemetry/tracing.ts, set up by main.ts) records and exports them when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. This continues a caller's W3C `traceparent` around each
 * request. Subgraph requests carry the trace on (signed-data-source.ts injects `traceparent`), even
 * with no collector, so subgraph logs can be joined to a trace.
 */
export function useTracing(): GatewayPlugin {
  propagateTraceContext();
  // With spans recorded, everything Apollo does for this request runs inside the caller’s trace
  // (tracing.test.ts checks it; the body parser after it keeps the async context). Without, no
  // context manager is registered and this only calls next.
  const continueTrace: RequestHandler = (req, _res, next) =>
    context.with(propagation.extract(ROOT_CONTEXT, req.headers), next);
  return { name: 'tracing', graphqlRequest: [continueTrace] };
}
