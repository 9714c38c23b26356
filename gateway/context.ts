import type { GraphQLError } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../common/identity/identity';
import type { Logger } from '../common/logging/logger';
import { type TraceHeaders, traceHeadersOf } from './trace-context';

/** Per-request state of the gateway, handed to every subgraph fetch of the request. */
export interface GatewayContext {
  requestId: string;
  /** Who the caller is, as verified by the gateway; anonymous callers have a null userId. */
  identity: Identity;
  logger: Logger;
  /** The caller's trace, continued in every subgraph request (gateway/plugins/tracing.ts). */
  traceHeaders?: TraceHeaders;
}

/** What a transport knows of a caller when it asks for a context. */
export interface ContextInput {
  /** The `Authorization` header (HTTP, SSE) or `connection_init` field (WebSocket). */
  authorization?: string;
  requestId?: string;
  /** The direct peer's address; `forwardedFor` counts only from a trusted proxy. */
  ip?: string;
  forwardedFor?: string | string[];
  userAgent?: string;
  traceHeaders?: TraceHeaders;
}

/**
 * What an HTTP request (or a WebSocket's upgrade request) says of its caller. The token is the
 * request's `Authorization` header unless the transport carries it elsewhere (`connection_init`).
 */
export const contextInputOf = (
  request: IncomingMessage,
  extra: Pick<ContextInput, 'requestId'> & { authorization?: string | undefined } = {},
): ContextInput => ({
  authorization: 'authorization' in extra ? extra.authorization : request.headers.authorization,
  requestId: extra.requestId,
  ip: request.socket.remoteAddress,
  forwardedFor: request.headers['x-forwarded-for'],
  userAgent: request.headers['user-agent'],
  traceHeaders: traceHeadersOf(request.headers),
});

/** Verifies the caller and builds the request context; rejects when it cannot verify. */
export type ContextFactory = (input: ContextInput) => Promise<GatewayContext>;

/** A watch on a session for long-lived operations: `ended` settles when it is revoked. */
export interface SessionWatch {
  ended: Promise<GraphQLError>;
  stop: () => void;
}
