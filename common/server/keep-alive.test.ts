import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepClientConnectionsAlive, SERVER_KEEP_ALIVE_TIMEOUT_MS } from './keep-alive';

describe('keeping client connections alive', () => {
  it('announces and keeps idle connections longer than the proxies in front of a service keep theirs', async () => {
    const server = keepClientConnectionsAlive(createServer((_request, response) => response.end('ok')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const header = await new Promise<string | string[] | undefined>((resolve, reject) =>
        get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, (response) => {
          response.resume();
          resolve(response.headers['keep-alive']);
        }).on('error', reject),
      );

      expect(SERVER_KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
      expect(header).toBe(`timeout=${SERVER_KEEP_ALIVE_TIMEOUT_MS / 1000}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
