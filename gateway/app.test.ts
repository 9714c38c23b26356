import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { deleteRedisKeys } from '../common/testing/cleanup';
import { testServers } from '../common/testing/env';
import { silentLogger } from '../common/testing/logger';
import { testNamespace } from '../common/testing/namespace';
import { startGatewayInFront } from './testing/stub-subgraph';

describe('starting the gateway', () => {
  const namespace = testNamespace('gateway-start');
  afterAll(() => deleteRedisKeys(testServers().redisUrl, `${namespace}:`));

  it('fails with the listen error when its port is taken, and leaves nothing open behind it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const before = process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout').length;
      await expect(
        startGatewayInFront('http://127.0.0.1:9/graphql', namespace, silentLogger(), {
          GATEWAY_PORT: port,
          HOST: '127.0.0.1',
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // Redis connections, sockets and servers opened on the way are closed again.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout').length;
      expect(after).toBeLessThanOrEqual(before);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("the gateway's outbound calls", () => {
  const namespace = testNamespace('gateway-outbound');
  afterAll(() => deleteRedisKeys(testServers().redisUrl, `${namespace}:`));

  it('go to no host it was not configured with: no cloud metadata probe, no telemetry to Apollo', async () => {
    const hosts: string[] = [];
    const onRequest = (message: unknown) =>
      hosts.push(String((message as { request: ClientRequest }).request.host));
    diagnostics.subscribe('http.client.request.start', onRequest);
    try {
      // The subgraphs and auth's keys at 127.0.0.1 (nothing listens there); nothing else is configured.
      const gateway = await startGatewayInFront('http://127.0.0.1:9/graphql', namespace, silentLogger(), {
        HOST: '127.0.0.1',
        GATEWAY_PORT: '0',
      });
      await gateway.stop();
      // A probe or an export started by either would have begun its request by now.
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      diagnostics.unsubscribe('http.client.request.start', onRequest);
    }
    expect(hosts.filter((host) => host !== '127.0.0.1')).toEqual([]);
  });
});
