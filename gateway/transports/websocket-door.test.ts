import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { deleteRedisKeys } from '../../common/testing/cleanup';
import { testServers } from '../../common/testing/env';
import { silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';
import type { RunningGateway } from '../app';
import {
  startGatewayInFront,
  startStubSubgraph,
  type Stub,
  type StubSubgraph,
} from '../testing/stub-subgraph';

/*
 * What a WebSocket client meets before any operation: how many sockets one address may hold,
 * and what `connection_init` may carry.
 */

type Attempt = { opened: WebSocket } | { refused: number; body: unknown };

/** Opens a graphql-ws socket, or reports the HTTP status and body the upgrade was refused with. */
async function connect(gateway: RunningGateway, headers: Record<string, string> = {}): Promise<Attempt> {
  const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ opened: socket }));
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ refused: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    socket.once('error', reject);
  });
}

const opened = (attempt: Attempt): WebSocket => {
  if (!('opened' in attempt)) throw new Error(`refused with ${attempt.refused}`);
  return attempt.opened;
};

/** What the server does with a `connection_init` payload: acknowledge it, or close with code and reason. */
async function initWith(gateway: RunningGateway, payload: unknown) {
  const socket = opened(await connect(gateway));
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  const outcome = await Promise.race([
    once(socket, 'message').then(([data]) => ({ message: JSON.parse(String(data)) as unknown })),
    once(socket, 'close').then(([code, reason]) => ({ closed: code as number, reason: String(reason) })),
  ]);
  socket.terminate();
  return outcome;
}

describe('the WebSocket door', () => {
  const namespace = testNamespace('websocket-door');
  const stub: Stub = { answer: { status: 200, body: { data: null } }, received: [] };
  let subgraph: StubSubgraph;
  let gateway: RunningGateway;
  let behindProxy: RunningGateway;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    subgraph = await startStubSubgraph(stub);
    gateway = await startGatewayInFront(subgraph.url, namespace, silentLogger(), {
      WS_CONNECTIONS_PER_ADDRESS: '3',
    });
    behindProxy = await startGatewayInFront(subgraph.url, namespace, silentLogger(), {
      WS_CONNECTIONS_PER_ADDRESS: '1',
      TRUSTED_PROXIES: '127.0.0.1',
    });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.terminate();
  });
  afterAll(async () => {
    await gateway?.stop();
    await behindProxy?.stop();
    await subgraph?.close();
    await deleteRedisKeys(testServers().redisUrl, `${namespace}:`);
  });

  describe('connections per client address', () => {
    it('refuses the upgrade past WS_CONNECTIONS_PER_ADDRESS with 429, whatever X-Forwarded-For says', async () => {
      for (let i = 0; i < 3; i++) sockets.push(opened(await connect(gateway)));
      const refused = await connect(gateway, { 'x-forwarded-for': '203.0.113.9' });
      expect(refused).toEqual({
        refused: 429,
        body: {
          errors: [
            {
              message: expect.any(String),
              extensions: { code: 'QUOTA_EXCEEDED', limit: 'connectionsPerAddress', max: 3 },
            },
          ],
        },
      });
    });

    it('frees a slot when a connection closes, however it closed, and only once', async () => {
      for (let i = 0; i < 3; i++) sockets.push(opened(await connect(gateway)));
      const leaving = sockets.pop() as WebSocket;
      leaving.terminate();
      // The server counts the close when its side of the socket closes: retry until then.
      let attempt = await connect(gateway);
      while ('refused' in attempt) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        attempt = await connect(gateway);
      }
      sockets.push(attempt.opened);
      expect(await connect(gateway)).toMatchObject({ refused: 429 });
    });

    it('counts the client behind a trusted proxy by its forwarded address', async () => {
      sockets.push(opened(await connect(behindProxy, { 'x-forwarded-for': '198.51.100.1' })));
      expect(await connect(behindProxy, { 'x-forwarded-for': '198.51.100.1' })).toMatchObject({
        refused: 429,
      });
      sockets.push(opened(await connect(behindProxy, { 'x-forwarded-for': '198.51.100.2' })));
    });
  });

  describe('connection_init', () => {
    it('acknowledges no payload, or an empty one, as an anonymous caller', async () => {
      expect(await initWith(gateway, undefined)).toEqual({ message: { type: 'connection_ack' } });
      expect(await initWith(gateway, {})).toEqual({ message: { type: 'connection_ack' } });
    });

    it.each([
      ['a non-string authorization', { authorization: 42 }, /authorization must be a string/],
      ['an object as authorization', { authorization: { token: 'x' } }, /authorization must be a string/],
      ['a token under another name', { Authorization: 'Bearer x' }, /unknown field "Authorization"/],
    ])('refuses %s (4400) instead of taking the caller for anonymous', async (_name, payload, reason) => {
      const outcome = await initWith(gateway, payload);
      expect(outcome).toEqual({ closed: 4400, reason: expect.stringMatching(reason) });
    });
  });
});
