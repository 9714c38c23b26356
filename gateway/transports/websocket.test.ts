import { buildSchema, type ExecutionResult } from 'graphql';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { silentLogger } from '../../common/testing/logger';
import type { GatewayContext } from '../context';
import { BoundedQueue } from '../subscriptions/bounded-queue';
import type { OperationRouter } from './operation-router';
import { GatewayCloseCode, serveWebSocket } from './websocket';

/*
 * The WebSocket transport on its own, with a stand-in router that produces events as fast as it
 * is asked, each of EVENT_BYTES: what a client too slow to read does to the gateway, with real
 * sockets and the real bounded queue between producer and sender.
 */

const EVENT_BYTES = 256 * 1024;
const QUEUED_EVENTS = 8;
const schema = buildSchema('type Query { ok: Boolean } type Subscription { blob: String }');

const context: GatewayContext = {
  requestId: 'test',
  identity: { userId: 'u1', role: 'USER', sessionId: 's1', requestId: 'test', issuer: 'gateway' },
  logger: silentLogger(),
};

/** Produces large events into a bounded queue, as the upstream pool does, until it overflows. */
function flood(produced: { slowConsumerReported: boolean }): OperationRouter {
  return async (_request, _context, options) => {
    const blob = 'x'.repeat(EVENT_BYTES);
    const timer = setInterval(() => queue.push({ data: { blob } }), 1);
    const queue = new BoundedQueue<ExecutionResult>(QUEUED_EVENTS, () => {
      clearInterval(timer);
      produced.slowConsumerReported = true;
      options.onSlowConsumer?.();
    });
    const events: AsyncIterableIterator<ExecutionResult> = {
      next: () => queue.next(),
      return: async () => {
        clearInterval(timer);
        queue.end();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => events,
    };
    return events;
  };
}

describe('the WebSocket transport with a slow client', () => {
  let httpServer: Server;
  let transport: { dispose: () => Promise<void> };
  let url: string;
  const produced = { slowConsumerReported: false };

  beforeAll(async () => {
    httpServer = createServer();
    transport = serveWebSocket({
      httpServer,
      path: '/graphql',
      schema: () => schema,
      createContext: async () => context,
      route: flood(produced),
      keepAliveMs: 60_000,
      connectionInitTimeoutMs: 300,
      maxBufferedBytes: 64 * 1024 * 1024,
      maxMessageBytes: 64 * 1024,
      connectionsPerAddress: 10,
      clientAddress: (request) => request.socket.remoteAddress,
      logger: silentLogger(),
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    await transport.dispose();
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it('keeps at most a bounded queue, then closes the connection with 4413 SlowConsumer', async () => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => socket.once('message', resolve));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { blob }' } }));

    // The client stops reading: the kernel's buffers fill, sends stop completing, the queue fills.
    await new Promise((resolve) => socket.once('message', resolve));
    const raw = (socket as unknown as { _socket: { pause: () => void; resume: () => void } })._socket;
    raw.pause();
    const started = Date.now();
    while (!produced.slowConsumerReported && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(produced.slowConsumerReported).toBe(true);

    // Once it reads again it gets what was already sent, then the close.
    let received = 0;
    socket.on('message', () => (received += 1));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    raw.resume();
    expect(await closed).toEqual({
      code: GatewayCloseCode.SlowConsumer,
      reason: 'Slow consumer: too much unread data',
    });
    expect(received).toBeGreaterThan(0);
  });

  it('closes a socket that sends no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS with 4408', async () => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const opened = Date.now();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(250);
  });
});
