import { createServer } from 'node:net';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const boundPort = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(boundPort));
    });
  });
}

/** A loopback TCP port nothing listens on right now (the OS picks it), for a server a test starts. */
export function findFreePort(): Promise<number> {
  return listenOnce(0);
}

/**
 * Fails with a message naming the server that wanted the port, instead of letting that server die
 * with its own less helpful error. The usual culprit is a server left over from an earlier run.
 */
export async function assertPortFree(port: number, server: string, howToChange: string): Promise<void> {
  try {
    await listenOnce(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `${server}: port ${port} on 127.0.0.1 is already in use (a server from an earlier run still going?). ${howToChange}`,
    );
  }
}
