import { createServer, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** `host:port` of the proxy, to put in place of the target's in a URL. */
  host: string;
  /** Connections accepted so far. */
  connections: () => number;
  /** Bytes relayed from clients to the target so far: a request on a kept-alive connection counts too. */
  bytesIn: () => number;
  /** Cuts every open connection at once, as a network failure would (no close handshake). */
  dropAll: () => void;
  /** Sends new connections to another `host:port`, as a load balancer does once a server is out. */
  retarget: (target: string) => void;
  close: () => Promise<void>;
}

const hostAndPort = (target: string) => {
  const { hostname, port } = new URL(`tcp://${target}`);
  return { host: hostname, port: Number(port) };
};

/**
 * A TCP relay to `target` (`host:port`) on a loopback port, for tests that need a client's
 * connection to fail mid-stream while the server goes on, or to move to another server. A side that
 * closes cleanly closes the other once what it sent is through (a WebSocket's close frame arrives);
 * one that fails cuts the other.
 */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let destination = hostAndPort(target);
  const open = new Set<Socket>();
  let accepted = 0;
  let bytesIn = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = connect(destination.port, destination.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
    });
    // A clean end travels through the pipes (each side ended after its last bytes); a failure cuts.
    client.on('close', (hadError) => hadError && upstream.destroy());
    upstream.on('close', (hadError) => hadError && client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of open) socket.resetAndDestroy();
  };
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    bytesIn: () => bytesIn,
    dropAll,
    retarget: (next) => {
      destination = hostAndPort(next);
    },
    close: async () => {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
