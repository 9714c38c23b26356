import {
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  parse,
  type ParseOptions,
  type Source,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { SERVICE_RESTART_CLOSE_CODE } from './graceful-shutdown';
import { coalesceWrites } from './coalesced-writes';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AppError, createErrorFormatter, toGraphQLError } from '../errors/errors';
import { subscribeWithCompiledEvents } from '../graphql/compiled-events';
import { documentsByText, oncePerDocument } from '../graphql/once-per-document';
import { IDENTITY_HEADER, type Identity, invalidIdentity } from '../identity/identity';
import type { IdentityVerifier } from '../identity/identity-verifier';
import type { Logger } from '../logging/logger';

export interface SubgraphWebSocketLimits {
  /** Open (or opening) connections; more are refused with HTTP 503 before the upgrade. */
  maxConnections: number;
  /** The largest message; a bigger one closes the socket with 1009 as soon as its length is read. */
  maxMessageBytes: number;
}

export const DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS: SubgraphWebSocketLimits = {
  maxConnections: 256,
  maxMessageBytes: 1024 * 1024,
};

export interface SubgraphWebSocketOptions<Context> {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  /** Validation with the subgraph's own limits (common/server/subgraph-guard.ts). */
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  logger: Logger;
  verifier: IdentityVerifier;
  limits: SubgraphWebSocketLimits;
  createContext: (identity: Identity) => Context;
}

/** Distinct subscription documents whose parse and validation a server keeps. */
const KEPT_DOCUMENTS = 500;

/** WebSocket close code 1013: the service cannot check the identity now; the client should retry. */
const TRY_AGAIN_LATER = 1013;

const asHeader = (value: unknown) => (typeof value === 'string' ? value : undefined);

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * graphql-ws on a subgraph (docs/protocol.md#subgraph-websockets). Its only client is the
 * gateway's upstream pool, so a connection must prove it with a service identity in
 * `connection_init` (`payload["x-identity"]`, signed for this subgraph and the connection) or is
 * closed with 4403; every subscribe message then carries the user's identity, signed for that
 * operation. Messages and connections are bounded before anything is buffered.
 */
export function serveSubgraphWebSocket<Ctx>(options: SubgraphWebSocketOptions<Ctx>): {
  dispose: () => Promise<void>;
} {
  const { logger, verifier, limits } = options;
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  let upgrading = 0;
  options.httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://subgraph').pathname !== options.path) {
      refuseUpgrade(socket, '404 Not Found');
      return;
    }
    if (wsServer.clients.size + upgrading >= limits.maxConnections) {
      logger.warn({ maxConnections: limits.maxConnections }, 'websocket connection refused: too many');
      refuseUpgrade(socket, '503 Service Unavailable');
      return;
    }
    upgrading += 1;
    let counted = true;
    const upgraded = () => {
      if (counted) upgrading -= 1;
      counted = false;
    };
    socket.once('close', upgraded);
    wsServer.handleUpgrade(request, socket, head, (ws) => {
      upgraded();
      wsServer.emit('connection', ws, request);
    });
  });

  const formatError = createErrorFormatter(logger);
  const documentOf = documentsByText(KEPT_DOCUMENTS, parse);
  const validation = oncePerDocument((document) => options.validate(options.schema, document));
  // The user's identity is verified (and its nonce spent) in onSubscribe; the context is built
  // later, after graphql-ws has validated the operation, so it waits here meanwhile.
  const verified = new WeakMap<Context, Map<string, Identity>>();
  const identitiesOf = (ctx: Context) => {
    let identities = verified.get(ctx);
    if (!identities) verified.set(ctx, (identities = new Map()));
    return identities;
  };

  const server = useServer(
    {
      schema: options.schema,
      // The gateway sends the same few subscription documents for every reply: each is parsed and
      // validated once, not on every subscribe (graphql-ws validates against `schema` above).
      parse: (source: string | Source, parseOptions?: ParseOptions) =>
        typeof source === 'string' && parseOptions === undefined
          ? documentOf(source)
          : parse(source, parseOptions),
      validate: (_schema: GraphQLSchema, document: DocumentNode) => validation(document),
      // Each event of a token stream: graphql-js's results, at a fraction of its CPU.
      subscribe: subscribeWithCompiledEvents,
      onConnect: async (ctx) => {
        try {
          await verifier.verifyConnection(asHeader(ctx.connectionParams?.[IDENTITY_HEADER]));
          return true;
        } catch (error) {
          logger.info({ err: error }, 'websocket connection refused');
          if (error instanceof AppError && error.code === 'UPSTREAM_UNAVAILABLE') {
            ctx.extra.socket.close(TRY_AGAIN_LATER, 'The identity cannot be checked now; try again later');
          }
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        try {
          const header = asHeader(payload.extensions?.[IDENTITY_HEADER]);
          identitiesOf(ctx).set(id, await verifier.verifyOperation(header, payload));
        } catch (error) {
          return [toGraphQLError(error instanceof AppError ? error : invalidIdentity())];
        }
      },
      context: (ctx, id) => {
        const identity = identitiesOf(ctx).get(id);
        identitiesOf(ctx).delete(id);
        if (!identity) throw invalidIdentity();
        return options.createContext(identity);
      },
      // Errors in events get the same codes and masking as over HTTP.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors
          ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) }
          : undefined,
      onError: (ctx, id, _payload, errors) => {
        identitiesOf(ctx).delete(id);
        logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
      },
    },
    wsServer,
  );
  // A message over the size bound (ws closes with 1009) or a reset is the peer's doing: log it.
  wsServer.on('connection', (socket, request) => {
    coalesceWrites(socket, request.socket);
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.info({ err: error }, 'websocket error'));
  });
  return {
    dispose: async () => {
      // Before graphql-ws's own 1001: the gateway hears that this replica restarts, not that it failed.
      for (const socket of wsServer.clients) socket.close(SERVICE_RESTART_CLOSE_CODE, 'Service restart');
      await server.dispose();
    },
  };
}
