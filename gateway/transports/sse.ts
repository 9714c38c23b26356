import type { RequestHandler, Response } from 'express';
import type { ExecutionArgs, GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/express';
import { AppError, HTTP_STATUS } from '../../common/errors';
import type { ContextFactory, GatewayContext, SessionWatch } from '../context';
import { traceHeadersOf } from '../plugins/tracing';
import { type OperationRouter, type ParsedStreamingRequest, parseStreamingRequest } from './operation-router';

export interface SseTransportOptions {
  schema: () => GraphQLSchema;
  createContext: ContextFactory;
  route: OperationRouter;
  /** A client whose unsent data passes this many bytes is disconnected. */
  maxBufferedBytes: number;
  watchSession?: (context: GatewayContext) => SessionWatch;
}

interface OperationValue {
  context: GatewayContext;
  request: ParsedStreamingRequest;
  session?: SessionWatch;
  connection: object;
  response: Response;
}

const refusal = (error: AppError) =>
  [
    JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] }),
    {
      status: HTTP_STATUS[error.code],
      statusText: error.code,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  ] as const;

/**
 * GraphQL over Server-Sent Events (graphql-sse, distinct connections mode) on `/graphql` for
 * requests that accept `text/event-stream`. The access token is the `Authorization` header.
 */
export function sseHandler(options: SseTransportOptions): RequestHandler {
  const run = (args: ExecutionArgs) => {
    const { context, request, session, connection, response } = args.contextValue as OperationValue;
    return options.route(request, context, {
      connection,
      endWith: session?.ended,
      onSlowConsumer: () => response.destroy(),
    });
  };
  const handler = createHandler<OperationValue & Record<PropertyKey, unknown>>({
    onSubscribe: async (req, params) => {
      const raw = req.raw;
      let context: GatewayContext;
      try {
        context = await options.createContext({
          authorization: req.headers.get('authorization') ?? undefined,
          requestId: req.headers.get('x-request-id') ?? undefined,
          ip: raw.socket.remoteAddress,
          forwardedFor: raw.headers['x-forwarded-for'],
          userAgent: raw.headers['user-agent'],
          traceHeaders: traceHeadersOf(raw.headers),
        });
      } catch (error) {
        return error instanceof AppError
          ? refusal(error)
          : refusal(new AppError('UNAUTHENTICATED', 'Invalid token'));
      }
      const parsed = parseStreamingRequest(params);
      if (!('document' in parsed)) return { errors: parsed };
      const value: OperationValue = {
        context,
        request: parsed,
        session: options.watchSession?.(context),
        connection: raw,
        response: req.context.res,
      };
      return {
        schema: options.schema(),
        document: parsed.document,
        operationName: params.operationName,
        variableValues: params.variables,
        contextValue: value as OperationValue & Record<PropertyKey, unknown>,
      };
    },
    execute: run,
    subscribe: run,
    onNext: (_ctx, req) => {
      if (req.context.res.writableLength > options.maxBufferedBytes) req.context.res.destroy();
    },
    onComplete: (ctx) => {
      ctx.session?.stop();
    },
  });
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}
