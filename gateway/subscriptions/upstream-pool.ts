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
  /** How long a socket carrying no subscription stays open for the next one (default 5 s). */
  idleCloseMs?: number;
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
  /** Closes the socket once it has carried nothing for `idleCloseMs`; set while it carries nothing. */
  idle?: NodeJS.Timeout;
}

const DEFAULT_IDLE_CLOSE_MS = 5_000;

const toWebSocketUrl = (url: string) => url.replace(/^http/, 'ws');

/**
 * A few graphql-ws connections per subgraph, shared by every client subscription: graphql-ws
 * multiplexes subscriptions on one socket, so upstream sockets grow far slower than clients.
 * A subscription goes to the socket carrying the fewest; sockets connect on first use and close
 * when idle. The pool closes them itself (a client is disposed, the next use opens another):
 * graphql-ws's own lazy close leaves its timer running after `dispose()`, which held a stopped
 * gateway's process open for the timer's length. Each connection opens with the gateway's service
 * identity, signed afresh for that subgraph (docs/protocol.md#subgraph-websockets); each
 * subscription carries its user's. An upstream drop ends the subscriptions on it with an error (no
 * silent retry, which could replay events): clients resume with their own cursor.
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
    this.acquire(socket);
    let released = false;
    const release = () => {
      if (!released) this.release(service, socket);
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

  /** Upstream sockets open or opening to a subgraph (for tests). */
  openSockets(service: string): number {
    return this.sockets.get(service)?.length ?? 0;
  }

  async dispose(): Promise<void> {
    const sockets = [...this.sockets.values()].flat();
    this.sockets.clear();
    await Promise.all(sockets.map((socket) => this.close(socket)));
  }

  /**
   * The socket carrying the fewest subscriptions, a new one while fewer than `socketsPerSubgraph`
   * are open and each of them carries some.
   */
  private leastLoaded(service: string): Socket {
    const url = this.options.urls[service];
    if (!url) throw new Error(`No URL for subgraph ${service}`);
    let sockets = this.sockets.get(service);
    if (!sockets) {
      sockets = [];
      this.sockets.set(service, sockets);
    }
    const least = sockets.reduce<Socket | undefined>(
      (fewest, socket) => (fewest === undefined || socket.open < fewest.open ? socket : fewest),
      undefined,
    );
    if (least && (least.open === 0 || sockets.length >= this.options.socketsPerSubgraph)) return least;
    const opened: Socket = { client: this.createClient(service, url), open: 0 };
    sockets.push(opened);
    return opened;
  }

  private acquire(socket: Socket): void {
    socket.open += 1;
    clearTimeout(socket.idle);
    socket.idle = undefined;
  }

  private release(service: string, socket: Socket): void {
    socket.open -= 1;
    const sockets = this.sockets.get(service) ?? [];
    // A socket the pool closed already (idle, or the pool disposed) is out of its list: nothing to arm.
    if (socket.open > 0 || !sockets.includes(socket)) return;
    // acquire() clears the timer, so it fires only on a socket that still carries nothing.
    socket.idle = setTimeout(() => {
      sockets.splice(sockets.indexOf(socket), 1);
      void this.close(socket);
    }, this.options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS).unref();
  }

  private async close(socket: Socket): Promise<void> {
    clearTimeout(socket.idle);
    try {
      await socket.client.dispose();
    } catch {
      // A socket that never connected has nothing to close: its failure already reached its subscriptions.
    }
  }

  private createClient(service: string, url: string): Client {
    return createClient({
      url: toWebSocketUrl(url),
      webSocketImpl: WebSocket,
      // Connected at once and kept until the pool closes it (release above); after a drop, the next
      // subscription on it connects again.
      lazy: false,
      onNonLazyError: () => undefined,
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
