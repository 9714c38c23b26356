import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The caller's W3C trace headers, as a transport received them. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

export const traceHeadersOf = (headers: IncomingHttpHeaders): TraceHeaders => ({
  traceparent: headers.traceparent as string | undefined,
  tracestate: headers.tracestate as string | undefined,
});

/**
 * The context a subgraph request carries on. Inside a recorded trace it is the active one (the
 * gateway's fetch span). Otherwise it is a child of the caller's span, or the root of a new trace,
 * with a span id of its own that is not recorded: a subgraph's logs still join the caller's trace.
 */
export function outgoingTraceContext(caller: TraceHeaders | undefined): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  const parent = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, caller ?? {}));
  const continued = parent !== undefined && isSpanContextValid(parent);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: continued ? parent.traceId : randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: continued ? parent.traceFlags : TraceFlags.NONE,
    traceState: continued ? parent.traceState : undefined,
  });
}
