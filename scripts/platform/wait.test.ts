import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { findFreePort } from './ports';
import { waitForHttp, waitUntil } from './wait';

let server: Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  // Answers 503 to its first two requests, then 200: a service that is still starting.
  server = createServer((_request, response) => {
    requests += 1;
    response.writeHead(requests > 2 ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

test('waitForHttp polls until the URL answers 2xx', async () => {
  await waitForHttp('service', url, { timeoutMs: 5000, intervalMs: 10 });
  expect(requests).toBe(3);
});

test('waitForHttp fails after the deadline, naming what it waited for and the last error', async () => {
  const closed = `http://127.0.0.1:${await findFreePort()}/health`;
  await expect(waitForHttp('auth', closed, { timeoutMs: 200, intervalMs: 20 })).rejects.toThrow(
    new RegExp(`^auth at ${closed} did not answer within 0.2s \\(last error: fetch failed \\(.*ECONNREFUSED`),
  );
});

test('waitUntil gives up at once when giveUpWhen rejects', async () => {
  const started = Date.now();
  const processExited = Promise.reject(new Error('server exited with code 1'));
  await expect(
    waitUntil('server', () => Promise.reject(new Error('not yet')), {
      timeoutMs: 10_000,
      giveUpWhen: processExited,
    }),
  ).rejects.toThrow('server exited with code 1');
  expect(Date.now() - started).toBeLessThan(1000);
});
