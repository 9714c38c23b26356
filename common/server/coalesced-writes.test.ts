import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { coalesceWrites } from './coalesced-writes';

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
});
