import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './ports';
import { type RunningHaproxy, startHaproxy } from './haproxy';

/** HAProxy itself (Debian's `haproxy`, as .ci/run installs it), with backends that are never reached. */
describe('HAProxy for the replica harness', () => {
  let dir: string;
  const running: RunningHaproxy[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'haproxy-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((haproxy) => haproxy.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const workDir = async (name: string) => {
    const path = join(dir, name);
    await mkdir(path);
    return path;
  };

  it('refuses to start on a port another HAProxy holds, rather than share it', async () => {
    const backend = { name: 'gateway', port: await findFreePort(), servers: [{ name: 'g1', port: 1 }] };
    running.push(await startHaproxy([backend], await workDir('first')));
    // Without noreuseport both would bind (SO_REUSEPORT) and the kernel would split the connections.
    await expect(startHaproxy([backend], await workDir('second'))).rejects.toThrow(/haproxy/i);
    expect(Object.keys(await running[0].serverStatus())).toEqual(['g1']);
  });
});
