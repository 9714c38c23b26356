import { type ExecutionArgs, GraphQLError, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { coalesceWrites } from '../../common/server/coalesced-writes';
import { SERVICE_RESTART_CLOSE_CODE } from '../../common/server/graceful-shutdown';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, toGraphQLError, withExtensions } from '../../common/errors/errors';
import type { Logger } from '../../common/logging/logger';
import {
  type ContextFactory,
  type ContextInput,
  contextInputOf,
  type GatewayContext,
  type SessionWatch,
} from '../context';
import { ConnectionsPerAddress } from './connections-per-address';
import { type OperationRouter, type ParsedStreamingRequest, parseStreamingRequest } from './operation-router';
import { traceTurn } from '../../common/logging/turn-trace';

/** Close codes this gateway adds to graphql-ws's own (docs/protocol.md). */
export const GatewayCloseCode = {
  /** WebSocket's own "Try Again Later": the token could not be checked now (JWKS or revocation list unreachable). */
  TryAgainLater: 1013,
  /** The client read too slowly and its send buffer passed the bound. */
  SlowConsumer: 4413,
} as const;

const closeSlowConsumer = (socket: WebSocket) =>
  socket.close(GatewayCloseCode.SlowConsumer, 'Slow consumer: too much unread data');

export interface WebSocketTransportOptions {
  httpServer: Server;
  path: string;
  /** The API schema, for graphql-ws's execution arguments. */
  schema: () => GraphQLSchema;
  createContext: ContextFactory;
  route: OperationRouter;
  /** Server ping interval; also detects dead clients. */
  keepAliveMs: number;
  /**
   * How long a socket may stay open without a `connection_init` before it is closed with 4408
   * (graphql-ws's default is 3 s, which a client or a gateway busy with a reconnecting crowd can miss).
   */
  connectionInitTimeoutMs: number;
  /** A client whose unsent data passes this many bytes is disconnected. */
  maxBufferedBytes: number;
  /** Largest message a client may send; a bigger one closes the socket (1009) before it is parsed. */
  maxMessageBytes: number;
  /** A document with more tokens is refused before it is parsed in full (none: unbounded). */
  maxTokens?: number;
  /** Watches the connection's session, to end its subscriptions once it is revoked. */
  watchSession?: (context: GatewayContext) => SessionWatch;
  /** Open connections one client address may hold; the next upgrade is refused with 429. */
  connectionsPerAddress: number;
  /** The client's address as the rest of the gateway sees it (X-Forwarded-For only from TRUSTED_PROXIES). */
  clientAddress: (request: IncomingMessage) => string | undefined;
  logger: Logger;
}

/** A client's text as it may appear in a close reason: printable ASCII, short (reasons are ≤ 123 bytes). */
const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);

/**
 * The `connection_init` payload, checked where it arrives (graphql-ws has already refused one that
 * is not an object): absent, or an object whose only field is `authorization`, a string. Anything
 * else is refused rather than taken for an anonymous caller: a token under another name, or not a
 * string, would otherwise silently be no token at all.
 */
export function connectionParamsOf(
  payload: Readonly<Record<string, unknown>> | undefined,
): { authorization?: string } | { problem: string } {
  const { authorization, ...others } = payload ?? {};
  const unknown = Object.keys(others)[0];
  if (unknown !== undefined)
    return {
      problem: `connection_init payload: unknown field "${printable(unknown)}"; the token goes in "authorization"`,
    };
  if (authorization !== undefined && typeof authorization !== 'string')
    return {
      problem: `connection_init payload: authorization must be a string, not ${typeof authorization}`,
    };
  return authorization === undefined ? {} : { authorization };
}

const tooManyConnections = (max: number) => {
  const refused = new AppError('QUOTA_EXCEEDED', 'Too many open connections from this address', {
    limit: 'connectionsPerAddress',
    max,
  });
  return JSON.stringify({ errors: [{ message: refused.message, extensions: refused.extensions }] });
};

/** Errors refusing an operation, each with the operation's request id, as over HTTP. */
const withRequestId = (errors: readonly GraphQLError[], requestId: string): GraphQLError[] =>
  errors.map((error) => withExtensions(error, { requestId }));

type ConnectionExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  /** What `connection_init` and the upgrade request told of the caller, checked again per operation. */
  caller?: ContextInput;
  session?: SessionWatch;
};

interface OperationValue {
  context: GatewayContext;
  request: ParsedStreamingRequest;
  connection: object;
}

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the gateway's own port and path. The access
 * token comes in `connection_init`'s payload as `{ "authorization": "Bearer …" }` and is
 * verified exactly as for HTTP; an invalid token closes the socket with 4403 Forbidden, and one
 * that cannot be checked now with 1013 Try Again Later. Each operation is then verified again, as
 * an HTTP request would be (expiry, revocation), and gets a request id of its own.
 */
export function serveWebSocket(options: WebSocketTransportOptions): { dispose: () => Promise<void> } {
  const perAddress = new ConnectionsPerAddress(options.connectionsPerAddress);
  const addressOf = (request: IncomingMessage) => options.clientAddress(request) ?? 'unknown';
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: options.maxMessageBytes,
    // Refused before the upgrade: ws completes an accepted upgrade (and emits `connection`, where
    // it is counted) synchronously after this, so no burst of upgrades slips past the count.
    verifyClient: (info, accept) => {
      if (perAddress.allows(addressOf(info.req))) return accept(true);
      options.logger.info({ limit: 'connectionsPerAddress' }, 'websocket connection refused');
      accept(false, 429, tooManyConnections(perAddress.max), { 'content-type': 'application/json' });
    },
  });
  const run = (args: ExecutionArgs) => {
    const { context, request, connection } = args.contextValue as OperationValue;
    const extra = (connection as Context<Record<string, unknown>, ConnectionExtra>).extra;
    return options.route(request, context, {
      connection,
      endWith: extra.session?.ended,
      onSlowConsumer: () => closeSlowConsumer(extra.socket),
    });
  };
  const server = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const params = connectionParamsOf(ctx.connectionParams);
        if ('problem' in params) {
          options.logger.info({ reason: 'connection_init payload' }, 'websocket connection refused');
          ctx.extra.socket.close(CloseCode.BadRequest, params.problem);
          return false;
        }
        const caller = contextInputOf(ctx.extra.request, { authorization: params.authorization });
        let context: GatewayContext;
        try {
          context = await options.createContext(caller);
        } catch (error) {
          options.logger.info({ err: error }, 'websocket connection refused');
          // Not the client's fault: a client that hears 4403 would drop a good token and sign out.
          if (error instanceof AppError && error.code === 'UPSTREAM_UNAVAILABLE') {
            ctx.extra.socket.close(
              GatewayCloseCode.TryAgainLater,
              'The token cannot be checked now; try again later',
            );
          }
          return false;
        }
        ctx.extra.caller = caller;
        ctx.extra.session = options.watchSession?.(context);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // Each operation has a request id of its own, in every error it is answered with.
        const requestId = randomUUID();
        traceTurn('gateway.request-received', requestId);
        const parsed = parseStreamingRequest(payload, options.maxTokens);
        if (!('document' in parsed)) return withRequestId(parsed, requestId);
        let context: GatewayContext;
        try {
          // A token that has since expired, or a session since revoked, is refused as over HTTP.
          context = await options.createContext({ ...(ctx.extra.caller as ContextInput), requestId });
          traceTurn('gateway.authenticated', requestId);
        } catch (error) {
          if (error instanceof AppError) return withRequestId([toGraphQLError(error)], requestId);
          // An error thrown here would close the socket (4500) and every operation on it.
          options.logger.error({ err: error, requestId }, 'unexpected error');
          return withRequestId(
            [toGraphQLError(new AppError('INTERNAL', 'Internal server error'))],
            requestId,
          );
        }
        const value: OperationValue = { context, request: parsed, connection: ctx };
        return {
          schema: options.schema(),
          document: parsed.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: value,
        };
      },
      execute: run,
      subscribe: run,
      onNext: (ctx) => {
        if (ctx.extra.socket.bufferedAmount > options.maxBufferedBytes) closeSlowConsumer(ctx.extra.socket);
      },
      onClose: (ctx) => {
        ctx.extra.session?.stop();
      },
    },
    wsServer,
    options.keepAliveMs,
  );
  // graphql-ws prints socket errors to the console; they are the client's doing (a message over the
  // size bound, which ws answers with 1009; a reset) and go to the log instead. Registered after
  // graphql-ws's own listener, so it can replace it.
  wsServer.on('connection', (socket, request) => {
    coalesceWrites(socket, request.socket);
    socket.once('close', perAddress.add(addressOf(request)));
    socket.removeAllListeners('error');
    socket.on('error', (error) => options.logger.info({ err: error }, 'websocket error'));
  });
  // The server's own errors are the HTTP server's (a port in use), which its owner reports.
  wsServer.removeAllListeners('error');
  wsServer.on('error', (error) => options.logger.debug({ err: error }, 'websocket server error'));
  return {
    dispose: async () => {
      // Before graphql-ws's own 1001: 1012 tells clients to reconnect (to another gateway) and resume.
      for (const socket of wsServer.clients) socket.close(SERVICE_RESTART_CLOSE_CODE, 'Service restart');
      await server.dispose();
    },
  };
}
