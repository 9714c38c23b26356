import { listenOnce } from '../../common/util/free-port';

export { findFreePort } from '../../common/util/free-port';

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
