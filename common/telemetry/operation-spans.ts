import type { ApolloServerPlugin } from '@apollo/server';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { httpStatusOf, isErrorCode } from '../errors/codes';

const tracer = trace.getTracer('llm-chat/graphql');

/**
 * A subgraph's server span for each GraphQL operation it is sent over HTTP, in the caller's trace
 * (the gateway's `traceparent`): the middleware starts it before the signed identity is checked and
 * makes it the active span, so the store calls of the request nest under it; the Apollo plugin
 * names it as OpenTelemetry's GraphQL conventions do (`mutation SendMessage__chat__0`) once the
 * operation is known, and gives it the first error's code as `error.type` (failed, when the code is
 * a server's failure). Only installed when spans are recorded (common/server/subgraph-server.ts).
 */
export function operationSpans(): { middleware: RequestHandler; plugin: ApolloServerPlugin } {
  const middleware: RequestHandler = (req, res, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      'GraphQL Operation',
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } },
      parent,
    );
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      const span = trace.getActiveSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          const type = operation?.operation ?? 'query';
          span.updateName(operationName ? `${type} ${operationName}` : type);
          span.setAttribute('graphql.operation.type', type);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async didEncounterErrors({ errors }) {
          const code = errors[0]?.extensions?.code;
          span.setAttribute('error.type', typeof code === 'string' ? code : 'GRAPHQL_ERROR');
          // As for HTTP server spans: the service failed (INTERNAL, a store away), not the caller's request.
          if (!isErrorCode(code) || httpStatusOf(code) >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        },
      };
    },
  };
  return { middleware, plugin };
}
