import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveAgent } from './keep-alive-agent';

/** Who ended each connection the server accepted: the client (its FIN arrived) or the server. */
type Closer = 'client' | 'server';

function serverWith(keepAliveTimeoutMs: number, answerAfterMs = 0) {
  const closers: Promise<Closer>[] = [];
  const server: Server = createServer((_request, response) => {
    setTimeout(() => response.end('ok'), answerAfterMs);
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (socket) => {
    closers.push(
      new Promise((resolve) => {
        let ended = false;
        socket.on('end', () => (ended = true));
        socket.on('close', () => resolve(ended ? 'client' : 'server'));
      }),
    );
  });
  return { server, closers };
}

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
};

const fetchThrough = (url: string, agent: ReturnType<typeof keepAliveAgent>) =>
  new Promise<string>((resolve, reject) => {
    get(url, { agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });

describe('connections to a subgraph', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('closes an idle connection before the subgraph does, so that no request is sent on a connection being closed', async () => {
    const { server, closers } = serverWith(2_000);
    servers.push(server);
    const url = await listen(server);
    const agent = keepAliveAgent(url, 4);

    await expect(fetchThrough(url, agent)).resolves.toBe('ok');

    // The server announced `Keep-Alive: timeout=2`: the agent ends the connection a second early.
    expect(closers).toHaveLength(1);
    await expect(closers[0]).resolves.toBe('client');
    agent.destroy();
  });

  it('waits for an answer slower than its idle timeout: the idle timeout applies only to unused connections', async () => {
    const { server } = serverWith(5_000, 600);
    servers.push(server);
    const url = await listen(server);
    const agent = keepAliveAgent(url, 4, 200);

    await expect(fetchThrough(url, agent)).resolves.toBe('ok');
    agent.destroy();
  });
});
