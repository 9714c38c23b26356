import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { IDENTITY_HEADER } from '../identity/identity';
import { createRedis } from '../stores/redis';
import type { BaseContext, RunningSubgraph } from './subgraph-server';
import { deleteRedisKeys } from '../testing/cleanup';
import { testServers } from '../testing/env';
import { serviceConnectionParams, signedIdentity } from '../testing/identity';
import { silentLogger } from '../testing/logger';
import { testNamespace } from '../testing/namespace';
import { startTestSubgraph } from '../testing/test-subgraph';

/*
 * A subgraph's graphql-ws endpoint, attacked with a raw client on its port: its only legitimate
 * peer is the gateway, which proves itself in connection_init; everything else is closed before
 * it costs anything.
 */

const MAX_CONNECTIONS = 3;
const MAX_MESSAGE_BYTES = 64 * 1024;
const PROTOCOL = 'graphql-transport-ws';

interface Closed {
  code: number;
  reason: string;
}

const closeOf = (socket: WebSocket): Promise<Closed> =>
  once(socket, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));

/** Opens a raw socket and sends `connection_init` with `payload`; resolves with the first message or the close. */
async function init(
  url: string,
  payload: unknown,
): Promise<{ message?: unknown; closed?: Closed; socket: WebSocket }> {
  const socket = new WebSocket(url, PROTOCOL);
  await once(socket, 'open');
  const closed = closeOf(socket);
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  const message = once(socket, 'message').then(([data]) => JSON.parse(String(data)) as unknown);
  return Promise.race([
    message.then((m) => ({ message: m, socket })),
    closed.then((c) => ({ closed: c, socket })),
  ]);
}

describe('a subgraph’s WebSocket endpoint', () => {
  const prefix = `${testNamespace('subgraph-websocket')}:`;
  const redis = createRedis({ url: testServers().redisUrl, keyPrefix: prefix, logger: silentLogger() });
  let subgraph: RunningSubgraph;
  let url: string;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    subgraph = await startTestSubgraph({
      name: 'events',
      redis,
      subscriptions: { maxConnections: MAX_CONNECTIONS, maxMessageBytes: MAX_MESSAGE_BYTES },
      schema: buildSubgraphSchema({
        typeDefs: parse('type Query { ping: String } type Subscription { caller: String }'),
        resolvers: {
          Subscription: {
            caller: {
              subscribe: async function* (_: unknown, __: unknown, context: unknown) {
                yield { caller: (context as BaseContext).caller.userId };
              },
            },
          },
        },
      }),
    });
    url = subgraph.url.replace(/^http/, 'ws');
  });
  afterEach(async () => {
    await Promise.all(
      open.splice(0).map(async (socket) => {
        if (socket.readyState === WebSocket.CLOSED) return;
        const closed = once(socket, 'close');
        socket.close();
        await closed;
      }),
    );
  });
  afterAll(async () => {
    await subgraph?.stop();
    redis.disconnect();
    await deleteRedisKeys(testServers().redisUrl, prefix);
  });

  it('closes a connection whose connection_init carries no identity with 4403 Forbidden', async () => {
    const { closed, message } = await init(url, {});
    expect(message).toBeUndefined();
    expect(closed?.code).toBe(CloseCode.Forbidden);
  });

  it('closes a connection whose identity was signed for another subgraph, or was used before', async () => {
    expect((await init(url, serviceConnectionParams('chat'))).closed?.code).toBe(CloseCode.Forbidden);
    const params = serviceConnectionParams('events');
    const first = await init(url, params);
    open.push(first.socket);
    expect(first.message).toEqual({ type: 'connection_ack' });
    expect((await init(url, params)).closed?.code).toBe(CloseCode.Forbidden);
  });

  it('acknowledges the gateway’s service identity, then takes each subscription’s user identity', async () => {
    const { socket, message } = await init(url, serviceConnectionParams('events'));
    open.push(socket);
    expect(message).toEqual({ type: 'connection_ack' });
    const query = 'subscription { caller }';
    const next = once(socket, 'message').then(([data]) => JSON.parse(String(data)) as unknown);
    const extensions = { [IDENTITY_HEADER]: signedIdentity('user-1', { audience: 'events', query }) };
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, extensions } }));
    expect(await next).toEqual({ id: '1', type: 'next', payload: { data: { caller: 'user-1' } } });
  });

  it('closes with 1009 on reading a 50 MB frame’s length, before any of it is buffered', async () => {
    // A raw TCP client: the upgrade, then one frame's header announcing 50 MB, and nothing more.
    const socket = connect(subgraph.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      [
        'GET /graphql HTTP/1.1',
        `Host: 127.0.0.1:${subgraph.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Protocol: ${PROTOCOL}`,
        '',
        '',
      ].join('\r\n'),
    );
    const [response] = (await once(socket, 'data')) as [Buffer];
    expect(response.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    const header = Buffer.alloc(14);
    header[0] = 0x81; // FIN, text frame
    header[1] = 0x80 | 127; // masked, 64-bit length follows
    header.writeBigUInt64BE(BigInt(50 * 1024 * 1024), 2);
    randomBytes(4).copy(header, 10); // the mask
    socket.write(header);
    const [frame] = (await once(socket, 'data')) as [Buffer];
    expect(frame[0]).toBe(0x88); // a close frame...
    expect(frame.readUInt16BE(2)).toBe(1009); // ...with 1009 Message Too Big
    socket.destroy();
  });

  it('refuses connections past its bound before upgrading them, and takes new ones once some close', async () => {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const socket = new WebSocket(url, PROTOCOL);
      open.push(socket);
      await once(socket, 'open');
    }
    const refused = new WebSocket(url, PROTOCOL);
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(503);
    refused.on('error', () => undefined);
    refused.terminate();

    const last = open.pop() as WebSocket;
    const closed = once(last, 'close');
    last.close();
    await closed;
    const admitted = await init(url, serviceConnectionParams('events'));
    open.push(admitted.socket);
    expect(admitted.message).toEqual({ type: 'connection_ack' });
  });
});
