import type { RequestHandler, Response } from 'express';
import type { ExecutionArgs, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/express';
import { AppError, badRequest, internalError } from '../../common/errors/errors';
import { sendRefusal } from '../../common/errors/http-errors';
import type { Logger } from '../../common/logging/logger';
import { type ContextFactory, contextInputOf, type GatewayContext, type SessionWatch } from '../context';
import { requestIdOf } from '../request-id';
import { streamEnd } from './stream-end';
import { type OperationRouter, type ParsedStreamingRequest, parseStreamingRequest } from './operation-router';

export interface SseTransportOptions {
  schema: () => GraphQLSchema;
  createContext: ContextFactory;
  route: OperationRouter;
  /** A client whose unsent data passes this many bytes is disconnected. */
  maxBufferedBytes: number;
  /** A document with more tokens is refused before it is parsed in full (none: unbounded). */
  maxTokens?: number;
  watchSession?: (context: GatewayContext) => SessionWatch;
  /** Watches the gateway's shutdown for one stream, which then ends with a retryable error. */
  watchRestart?: () => SessionWatch;
  logger: Logger;
}

interface OperationValue {
  context: GatewayContext;
  request: ParsedStreamingRequest;
  session?: SessionWatch;
  connection: object;
  response: Response;
}

/** An answer before any event: a JSON body of errors and its status, as graphql-sse takes it. */
const errorResponse = (status: number, errors: readonly GraphQLFormattedError[]) =>
  [
    JSON.stringify({ errors }),
    {
      status,
      statusText: String(status),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  ] as const;

const refusal = (error: AppError, requestId: string) =>
  errorResponse(error.httpStatus, [
    { message: error.message, extensions: { ...error.extensions, requestId } },
  ]);

/**
 * GraphQL over Server-Sent Events (graphql-sse, distinct connections mode) on `/graphql` for
 * requests that accept `text/event-stream`. The access token is the `Authorization` header. A POST
 * must be `application/json`: the body parser, with its size bound, has then read it, and a browser
 * cannot send it cross-site without a CORS preflight.
 */
export function sseHandler(options: SseTransportOptions): RequestHandler {
  const run = async (args: ExecutionArgs) => {
    const value = args.contextValue as OperationValue;
    // Watched from the moment it runs: graphql-sse reports the end (onComplete) only from here on.
    value.session = streamEnd(options.watchSession?.(value.context), options.watchRestart?.());
    const result = await options.route(value.request, value.context, {
      connection: value.connection,
      endWith: value.session?.ended,
      onSlowConsumer: () => value.response.destroy(),
    });
    if (!(Symbol.asyncIterator in result)) value.session?.stop();
    return result;
  };
  const handler = createHandler<OperationValue & Record<PropertyKey, unknown>>({
    onSubscribe: async (req, params) => {
      const raw = req.raw;
      const requestId = requestIdOf(req.context.res);
      let context: GatewayContext;
      try {
        context = await options.createContext(contextInputOf(raw, { requestId }));
      } catch (error) {
        if (error instanceof AppError) return refusal(error, requestId);
        options.logger.error({ err: error, requestId }, 'unexpected error');
        return refusal(internalError(), requestId);
      }
      const parsed = parseStreamingRequest(params, options.maxTokens);
      if (!('document' in parsed)) {
        const errors = parsed.map((error) => error.toJSON());
        return errorResponse(
          400,
          errors.map((error) => ({ ...error, extensions: { ...error.extensions, requestId } })),
        );
      }
      const value: OperationValue = {
        context,
        request: parsed,
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
    if (req.method === 'POST' && !req.is('application/json')) {
      sendRefusal(res, badRequest('A POST must be application/json'), requestIdOf(res), 415);
      return;
    }
    handler(req, res).catch(next);
  };
}
