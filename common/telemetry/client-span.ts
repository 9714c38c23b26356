import {
  type Attributes,
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * Runs one outgoing HTTP call. Inside a trace it is a CLIENT span (after OpenTelemetry's HTTP
 * conventions: `attributes` describe the request, the answer's status is added; named `spanName`,
 * the method by default, or after another convention's rule, such as the DB one) whose context goes
 * on in `traceparent`, written into `headers` before `call` sends them, so that what the server does
 * is its child; outside one (a background job's poll, or no spans recorded) it is neither.
 */
export async function tracedHttpCall<T extends { status: number }>(
  tracer: Tracer,
  attributes: Attributes,
  headers: Record<string, string>,
  call: () => Promise<T>,
  spanName = String(attributes['http.request.method'] ?? 'HTTP'),
): Promise<T> {
  const parent = context.active();
  const active = trace.getSpan(parent)?.spanContext();
  if (!active || !trace.isSpanContextValid(active)) return call();
  const span = tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes }, parent);
  propagation.inject(trace.setSpan(parent, span), headers);
  try {
    const response = await call();
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 400) {
      span.setAttribute('error.type', String(response.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return response;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    span.setAttribute('error.type', failure.code ?? failure.name);
    span.recordException(failure);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    throw error;
  } finally {
    span.end();
  }
}

/** What a POST's span says of its request: the method and where it goes. */
export function postAttributes(url: string): Attributes {
  return requestAttributes('POST', url);
}

/** What a request's span says of it: its method and where it goes. */
export function requestAttributes(method: string, url: string): Attributes {
  const server = new URL(url);
  return {
    'http.request.method': method,
    'url.full': url,
    'server.address': server.hostname,
    'server.port': Number(server.port || (server.protocol === 'https:' ? 443 : 80)),
  };
}
