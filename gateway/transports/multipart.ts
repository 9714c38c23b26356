import type { Request, RequestHandler, Response } from 'express';
import { type ExecutionResult, getOperationAST, type GraphQLFormattedError } from 'graphql';
import { AppError, badRequest, internalError } from '../../common/errors/errors';
import { sendRefusal } from '../../common/errors/http-errors';
import type { Logger } from '../../common/logging/logger';
import { type ContextFactory, contextInputOf, type GatewayContext, type SessionWatch } from '../context';
import { requestIdOf } from '../request-id';
import { streamEnd } from './stream-end';
import {
  type OperationRouter,
  type ParsedStreamingRequest,
  parseStreamingRequest,
  type StreamingRequest,
} from './operation-router';

export interface MultipartTransportOptions {
  createContext: ContextFactory;
  route: OperationRouter;
  /** A client whose unsent data passes this many bytes is disconnected. */
  maxBufferedBytes: number;
  /** A document with more tokens is refused before it is parsed in full (none: unbounded). */
  maxTokens?: number;
  /** How often an empty part tells the client (and every proxy between) the stream is alive. */
  heartbeatMs: number;
  watchSession?: (context: GatewayContext) => SessionWatch;
  /** Watches the gateway's shutdown for one stream, which then ends with a retryable error. */
  watchRestart?: () => SessionWatch;
  /**
   * The document a persisted-query hash stands for, when the gateway knows it (APQ or a manifest):
   * a client such as Apollo Client with a persisted-query link sends a subscription by hash alone.
   */
  documentByHash?: (sha256Hash: string) => Promise<string | undefined>;
  logger: Logger;
}

const BOUNDARY = 'graphql';
export const MULTIPART_CONTENT_TYPE = `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`;
/*
 * Each write is a whole part ending in the delimiter, so a client (which yields a part once it
 * sees the delimiter after it) gets every event as it is written, not when the next one comes.
 */
const DELIMITER = `\r\n--${BOUNDARY}`;
const PART_HEADERS = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
const CLOSE = '--\r\n';

/** The protocols a subscription can use, named in the refusal of one that asked for none. */
export const SUBSCRIPTION_PROTOCOLS = [
  'graphql-ws (WebSocket, subprotocol graphql-transport-ws)',
  'multipart HTTP (Accept: multipart/mixed;subscriptionSpec="1.0")',
  'Server-Sent Events (Accept: text/event-stream)',
];

/**
 * The refusal of a subscription on a path that cannot stream it (plain JSON, GET, a batch), and its
 * status: 406, as the client accepts nothing the subscription can be answered in.
 */
export const streamingProtocolRequired = () =>
  badRequest(`A subscription needs a streaming protocol: ${SUBSCRIPTION_PROTOCOLS.join('; ')}`, {
    protocols: SUBSCRIPTION_PROTOCOLS,
  });
export const STREAMING_PROTOCOL_REQUIRED_STATUS = 406;

/** Whether a client asked for Apollo's multipart subscription protocol. */
export const acceptsMultipartSubscription = (accept: string | undefined): boolean =>
  accept !== undefined && /multipart\/mixed[^,]*subscriptionSpec\s*=\s*"?1\.0/i.test(accept);

const coded = (error: AppError, requestId: string): GraphQLFormattedError => ({
  message: error.message,
  extensions: { ...error.extensions, requestId },
});

/** The hash of Apollo's persisted-query protocol a request's `extensions` carry, if any. */
export const persistedHashOf = (extensions: unknown): string | undefined => {
  const hash = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | null | undefined)
    ?.persistedQuery?.sha256Hash;
  return typeof hash === 'string' ? hash : undefined;
};

const withoutPersistedQuery = (extensions: StreamingRequest['extensions']) => {
  if (!extensions) return extensions;
  const { persistedQuery: _found, ...rest } = extensions;
  return rest;
};

/**
 * The subscription operation a request carries (a POSTed body, or GET's `query` parameter), if any.
 * A POST asking for multipart by persisted hash alone is looked up here, so that it streams; any
 * other request without a document goes on to Apollo, which resolves the hash and refuses a
 * subscription there (plugins/subscription-protocol.ts), or answers PERSISTED_QUERY_NOT_FOUND,
 * and the client sends the document.
 */
async function subscriptionIn(
  req: Request,
  options: Pick<MultipartTransportOptions, 'maxTokens' | 'documentByHash'>,
): Promise<ParsedStreamingRequest | null> {
  const carried: unknown = req.method === 'POST' ? req.body : req.method === 'GET' ? req.query : undefined;
  const request = carried as Partial<StreamingRequest> | undefined;
  let query = request?.query;
  let extensions = request?.extensions;
  if (query === undefined && req.method === 'POST' && acceptsMultipartSubscription(req.headers.accept)) {
    const hash = persistedHashOf(extensions);
    if (hash !== undefined) query = await options.documentByHash?.(hash);
    // Found by its hash: the hash has done its work, and there is nothing to check or register again.
    if (query !== undefined) extensions = withoutPersistedQuery(extensions);
  }
  if (typeof query !== 'string') return null;
  const parsed = parseStreamingRequest({ ...request, query, extensions }, options.maxTokens);
  if (!('document' in parsed)) return null;
  const operation = getOperationAST(parsed.document, parsed.operationName ?? undefined);
  return operation?.operation === 'subscription' ? parsed : null;
}

/**
 * Subscriptions over HTTP as Apollo Client's HttpLink and Apollo Router speak them (Apollo's
 * multipart subscription protocol, docs/subscriptions.md#multipart-http): one POST, answered with
 * `multipart/mixed` parts of `{"payload": <result>}`, an empty `{}` part every `heartbeatMs`, and a
 * part `{"payload": null, "errors": [...]}` for a failure that ends the stream. The same router
 * (authentication, limits, resume with `after`) serves it as graphql-ws and SSE. A subscription
 * document that accepts neither this nor SSE gets 406, naming the protocols to use, here; one
 * this cannot see (a hash alone, a batch) gets the same from plugins/subscription-protocol.ts.
 */
export function multipartHandler(options: MultipartTransportOptions): RequestHandler {
  return (req, res, next) => {
    subscriptionIn(req, options)
      .then((request) => {
        if (!request) return next();
        const requestId = requestIdOf(res);
        // Streamed over a POST only: a GET's variables come as text, and a GET must not change anything anyway.
        if (req.method !== 'POST' || !acceptsMultipartSubscription(req.headers.accept))
          return sendRefusal(res, streamingProtocolRequired(), requestId, STREAMING_PROTOCOL_REQUIRED_STATUS);
        return stream(options, req, res, request, requestId).catch((error: unknown) => {
          options.logger.error({ err: error, requestId }, 'multipart subscription failed');
          // Before the stream, a JSON answer; once it has begun, the socket is cut.
          sendRefusal(res, internalError(), requestId);
        });
      })
      .catch(next);
  };
}

async function stream(
  options: MultipartTransportOptions,
  req: Request,
  res: Response,
  request: ParsedStreamingRequest,
  requestId: string,
): Promise<void> {
  let context: GatewayContext;
  try {
    context = await options.createContext(contextInputOf(req, { requestId }));
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    sendRefusal(res, error, requestId);
    return;
  }
  const session = streamEnd(options.watchSession?.(context), options.watchRestart?.());
  const result = await options.route(request, context, {
    connection: req,
    endWith: session?.ended,
    onSlowConsumer: () => res.destroy(),
  });

  res.writeHead(200, {
    'content-type': MULTIPART_CONTENT_TYPE,
    'cache-control': 'no-cache, no-transform',
    // Proxies such as nginx would otherwise hold the parts back.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  // The body opens with a delimiter; every part is then headers, JSON and the next delimiter.
  res.write(DELIMITER);
  const write = (part: unknown) => {
    if (res.destroyed) return;
    res.write(PART_HEADERS + JSON.stringify(part) + DELIMITER);
    if (res.writableLength > options.maxBufferedBytes) res.destroy();
  };
  const heartbeat = setInterval(() => write({}), options.heartbeatMs);
  const iterator = Symbol.asyncIterator in result ? result : null;
  const stopIterating = () => {
    clearInterval(heartbeat);
    void iterator?.return?.();
  };
  res.once('close', stopIterating);
  try {
    if (!iterator) {
      write({ payload: result });
      return;
    }
    for (;;) {
      const step = await iterator.next();
      if (step.done || res.destroyed) break;
      write({ payload: step.value satisfies ExecutionResult });
    }
  } catch (error) {
    const failure =
      error instanceof AppError ? error : new AppError('INTERNAL', 'The subscription ended unexpectedly');
    if (!(error instanceof AppError)) options.logger.error({ err: error, requestId }, 'subscription failed');
    write({ payload: null, errors: [coded(failure, requestId)] });
  } finally {
    clearInterval(heartbeat);
    res.off('close', stopIterating);
    session?.stop();
    if (!res.destroyed) res.end(CLOSE);
  }
}
