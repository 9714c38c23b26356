import { ChromaClient } from 'chromadb';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../util/free-port';

const clientFor = (url: string) => {
  const { hostname, port } = new URL(url);
  return new ChromaClient({ host: hostname, port: Number(port) });
};

/** Deletes every collection whose name starts with a test file's prefix. */
export async function deleteChromaCollections(chromaUrl: string, prefix: string): Promise<void> {
  const client = clientFor(chromaUrl);
  for (const collection of await client.listCollections()) {
    if (collection.name.startsWith(prefix)) await client.deleteCollection({ name: collection.name });
  }
}

export interface ChromaServer {
  url: string;
  /** Kills the server; its data stays on disk for `start`. */
  stop: () => Promise<void>;
  /** Starts it again on the same port and data, and waits until it answers. */
  start: () => Promise<void>;
  /** Stops the server (SIGSTOP): connections stay open and nothing answers. */
  freeze: () => void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw: () => void;
  /** Stops it and deletes its data. */
  dispose: () => Promise<void>;
}

/**
 * A Chroma server of a test's own (the `chroma-native` binding, in a child process) that the
 * test may stop and start, to see what the platform does while Chroma is away.
 */
export async function startChromaServer(): Promise<ChromaServer> {
  const binding = require.resolve('chroma-native');
  const dir = await mkdtemp(join(tmpdir(), 'chroma-test-'));
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      process.execPath,
      [
        '-e',
        'require(process.argv[1]).cli(["chroma", "run", "--path", process.argv[2], "--port", process.argv[3]])',
        binding,
        dir,
        String(port),
      ],
      { stdio: 'ignore' },
    );
    const client = clientFor(url);
    for (const deadline = Date.now() + 20_000; ; ) {
      try {
        await client.heartbeat();
        return;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    stop,
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
