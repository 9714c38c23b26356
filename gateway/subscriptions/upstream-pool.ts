import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CONNECTION_DIGEST,
  IDENTITY_HEADER,
  serviceIdentity,
  signIdentity,
} from '../../common/identity/identity';
import type { Logger } from '../../common/logging/logger';
import { BoundedQueue } from './bounded-queue';

export interface UpstreamPoolOptions {
  /** Subgraph name → its HTTP GraphQL URL; the WebSocket URL is derived from it. */
  urls: Record<string, string>;
  /** WebSocket connections per subgraph; subscriptions are multiplexed over them. */
  socketsPerSubgraph: number;
  /** Ping interval keeping idle upstream sockets (and proxies between) alive. */
  keepAliveMs: number;
  /** Events one subscription may hold for a client that reads slower than they come. */
  maxQueuedEvents: number;
  /** Signs the gateway's service identity into each socket's `connection_init`. */
  identitySecret: string;
  logger: Logger;
}

export interface UpstreamRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  extensions: Record<string, unknown>;
}

interface Socket {
  client: Client;
  open: number;
}

const toWebSocketUrl = (url: string) => url.replace(/^http/, 'ws');

/**
 * A few graphql-ws connections per subgraph, shared by every client subscription: graphql-ws
 * multiplexes subscriptions on one socket, so upstream sockets grow far slower than clients.
 * A subscription goes to the socket carrying the fewest; sockets connect lazily and close
 * when idle. Each connection opens with the gateway's service identity, signed afresh for that
 * subgraph (docs/protocol.md#subgraph-websockets); each subscription carries its user's. An upstream drop ends the subscriptions on it with an error (no silent retry,
 * which could replay events): clients resume with their own cursor.
 */
export class UpstreamPool {
  private readonly sockets = new Map<string, Socket[]>();

  constructor(private readonly options: UpstreamPoolOptions) {}

  /**
   * Subscribes upstream; events wait in a bounded queue for the consumer. When a slow consumer
   * lets the queue fill, the upstream subscription ends and `onOverflow` runs.
   */
  subscribe(
    service: string,
    request: UpstreamRequest,
    onOverflow: () => void = () => undefined,
  ): AsyncIterableIterator<FormattedExecutionResult> {
    const socket = this.leastLoaded(service);
    socket.open += 1;
    let released = false;
    const release = () => {
      if (!released) socket.open -= 1;
      released = true;
    };
    let unsubscribe = () => undefined as void;
    const queue = new BoundedQueue<FormattedExecutionResult>(this.options.maxQueuedEvents, () => {
      release();
      unsubscribe();
      onOverflow();
    });
    unsubscribe = socket.client.subscribe<Record<string, unknown>, Record<string, unknown>>(request, {
      next: (result) => queue.push(result),
      error: (error) => {
        release();
        queue.fail(error);
      },
      complete: () => {
        release();
        queue.end();
      },
    });
    const iterator: AsyncIterableIterator<FormattedExecutionResult> = {
      next: () => queue.next(),
      return: async () => {
        release();
        unsubscribe();
        queue.end();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Open upstream subscriptions to a subgraph (for metrics and tests). */
  openSubscriptions(service: string): number {
    return (this.sockets.get(service) ?? []).reduce((sum, socket) => sum + socket.open, 0);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sockets.values()].flat().map((socket) => socket.client.dispose()));
    this.sockets.clear();
  }

  private leastLoaded(service: string): Socket {
    const url = this.options.urls[service];
    if (!url) throw new Error(`No URL for subgraph ${service}`);
    let sockets = this.sockets.get(service);
    if (!sockets) {
      sockets = Array.from({ length: this.options.socketsPerSubgraph }, () => ({
        client: this.createClient(service, url),
        open: 0,
      }));
      this.sockets.set(service, sockets);
    }
    return sockets.reduce((least, socket) => (socket.open < least.open ? socket : least));
  }

  private createClient(service: string, url: string): Client {
    return createClient({
      url: toWebSocketUrl(url),
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 5_000,
      keepAlive: this.options.keepAliveMs,
      retryAttempts: 0,
      connectionParams: () => ({
        [IDENTITY_HEADER]: signIdentity(serviceIdentity('gateway'), this.options.identitySecret, {
          audience: service,
          digest: CONNECTION_DIGEST,
        }),
      }),
      on: {
        closed: (event) => {
          const { code, reason } = event as { code?: number; reason?: string };
          if (code !== 1000) this.options.logger.warn({ service, code, reason }, 'upstream websocket closed');
        },
      },
    });
  }
}
