import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { findFreePort } from './free-port';

const ephemeralStart = Number(
  readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
);

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

afterEach(() => jest.restoreAllMocks());

test('picks ports below the ephemeral range, where no outgoing connection takes one, and each can be bound', async () => {
  const ports = [await findFreePort(), await findFreePort(), await findFreePort()];
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(15_000);
    expect(port).toBeLessThan(ephemeralStart);
    await close(await listen(port));
  }
});

test('never hands out the same port twice in a process, even after its server has gone', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
  const first = await findFreePort();
  const second = await findFreePort();
  expect(second).not.toBe(first);
});

test('skips a port something already listens on', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(0.25);
  const probe = await findFreePort();
  // The next pick from the same place would be the port after the probe: occupy it.
  const occupied = await listen(probe + 1).catch(() => undefined);
  try {
    const port = await findFreePort();
    expect(port).not.toBe(probe);
    if (occupied) expect(port).not.toBe(probe + 1);
    await close(await listen(port));
  } finally {
    if (occupied) await close(occupied);
  }
});
