import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { coalesceWrites, EARLY_ACK_HIGH_WATER_BYTES } from './coalesced-writes';

describe('coalesced WebSocket writes', () => {
  let server: Server;
  let wsServer: WebSocketServer;
  beforeAll(async () => {
    server = createServer();
    wsServer = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    wsServer.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A server-side socket with coalesced writes, and what its client received. */
  async function connected() {
    const accepted = new Promise<{ socket: WebSocket; connection: Socket }>((resolve) =>
      wsServer.once('connection', (socket, request) => resolve({ socket, connection: request.socket })),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    const { socket, connection } = await accepted;
    coalesceWrites(socket, connection);
    return { socket, connection, client, received };
  }

  /** A send as graphql-ws makes it: the next frame only once this one's send called back. */
  const sent = (socket: WebSocket, data: string) =>
    new Promise<void>((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));

  it('holds the frames of one tick in the socket and sends them together, in order, as the tick ends', async () => {
    const accepted = new Promise<{ socket: WebSocket; connection: Socket }>((resolve) =>
      wsServer.once('connection', (socket, request) => resolve({ socket, connection: request.socket })),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const received: string[] = [];
    const allReceived = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        received.push(data.toString());
        if (received.length === 3) resolve();
      }),
    );
    const { socket, connection } = await accepted;
    coalesceWrites(socket, connection);

    socket.send('one');
    socket.send('two');
    expect(connection.writableCorked).toBe(1);
    socket.send('three');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(connection.writableCorked).toBe(0);

    await allReceived;
    expect(received).toEqual(['one', 'two', 'three']);
    client.close();
  });

  it('acknowledges a send at once while little is buffered, so one sender’s awaited frames share a write', async () => {
    const { socket, connection, client, received } = await connected();

    for (const frame of ['a', 'b', 'c', 'd']) await sent(socket, frame);

    // Every frame was sent, and acknowledged, before the tick's single write.
    expect(connection.writableCorked).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toEqual(['a', 'b', 'c', 'd']);
    client.close();
  });

  it('makes a sender wait for the write once more than the high-water mark is buffered', async () => {
    const { socket, connection, client, received } = await connected();
    socket.send('x'.repeat(EARLY_ACK_HIGH_WATER_BYTES));
    let acknowledged = false;

    const next = sent(socket, 'after').then(() => (acknowledged = true));
    await Promise.resolve();
    await Promise.resolve();

    expect(acknowledged).toBe(false);
    expect(connection.writableCorked).toBe(1);
    await next;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.at(-1)).toBe('after');
    client.close();
  });
});
