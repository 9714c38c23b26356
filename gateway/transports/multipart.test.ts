import express from 'express';
import type { ExecutionResult } from 'graphql';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../common/testing/logger';
import type { GatewayContext } from '../context';
import { multipartHandler } from './multipart';
import type { OperationRouter } from './operation-router';

/*
 * The multipart transport on its own, with a stand-in router whose subscription has a large event
 * ready whenever it is asked: what a client that stops reading does to the gateway, with real
 * sockets. The operation router frees a subscription's limit slot when its iterator is returned
 * (operation-router.ts, releasingOnEnd), so "returned" here is "the user's slot is free".
 */

const EVENT_BYTES = 64 * 1024;
const MAX_BUFFERED_BYTES = 256 * 1024;

const context: GatewayContext = {
  requestId: 'test',
  identity: { userId: 'u1', role: 'USER', sessionId: 's1', requestId: 'test', issuer: 'gateway' },
  logger: silentLogger(),
};

function endlessSubscription(state: { events: number; returned: boolean }): OperationRouter {
  return async () => {
    const blob = 'x'.repeat(EVENT_BYTES);
    const events: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        // A turn of the event loop between events, so the socket's writes can run.
        await new Promise((resolve) => setImmediate(resolve));
        state.events += 1;
        return { done: false, value: { data: { blob } } };
      },
      return: async () => {
        state.returned = true;
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => events,
    };
    return events;
  };
}

describe('the multipart transport with a client that stops reading', () => {
  let server: Server;
  let port: number;
  const state = { events: 0, returned: false };

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.use(
      multipartHandler({
        createContext: async () => context,
        route: endlessSubscription(state),
        maxBufferedBytes: MAX_BUFFERED_BYTES,
        heartbeatMs: 60_000,
        logger: silentLogger(),
      }),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('cuts the stream once its unsent data passes the bound, and ends the subscription (freeing its slot)', async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const sent = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec="1.0"' },
        },
        resolve,
      );
      sent.on('error', reject);
      sent.end(JSON.stringify({ query: 'subscription { blob }' }));
    });
    expect(response.statusCode).toBe(200);

    // The client stops reading: the kernel's buffers fill, then the gateway's own.
    response.pause();
    const started = Date.now();
    while (!state.returned && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(state.returned).toBe(true);
    const producedWhenCut = state.events;

    // Read again, it gets what was sent before the cut, then the connection ends without the closing delimiter.
    let body = '';
    response.on('data', (chunk: Buffer) => (body += chunk.toString()));
    const ended = new Promise<'aborted' | 'ended'>((resolve) => {
      response.once('aborted', () => resolve('aborted'));
      response.once('error', () => resolve('aborted'));
      response.once('end', () => resolve('ended'));
    });
    response.resume();
    expect(await ended).toBe('aborted');
    expect(body.length).toBeGreaterThan(EVENT_BYTES);
    expect(body.endsWith('--graphql--\r\n')).toBe(false);
    // Nothing more was produced for a client that is gone.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.events).toBeLessThanOrEqual(producedWhenCut + 1);
  });
});
