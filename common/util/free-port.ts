import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Listens on `port` of 127.0.0.1 (0: one the OS picks) and closes again: the port it had, or EADDRINUSE. */
export function listenOnce(port: number): Promise<number> {
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

/** Where picked ports start: above the well-known servers' ports (PostgreSQL, Redis, npm start's 4000s, Chroma's 8000). */
const LOWEST_PICKED_PORT = 15_000;
/** Each process picks from one of this many slices of the range, chosen by its pid. */
const SLICES = 16;

/** The first port of the kernel's ephemeral range, or undefined where it cannot be read (not Linux). */
function ephemeralRangeStart(): number | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(low);
    return Number.isInteger(port) ? port : undefined;
  } catch {
    return undefined;
  }
}

const picked = new Set<number>();

/**
 * A loopback TCP port nothing listens on right now, for a server a test or the replica harness starts.
 *
 * Not one the OS picks with listen(0): those come from the ephemeral range, which is also where every
 * outgoing connection's local port comes from, so between the pick and the server's own bind (seconds,
 * for a process that starts in a later wave) any connection on the machine could take it — CI saw a
 * chat replica die with EADDRINUSE that way. Below the range only another picker can take it: this
 * process picks from its own slice of the range (by pid) and never hands out a port twice. Where the
 * range is unknown or too low to leave room, the OS picks.
 */
export async function findFreePort(): Promise<number> {
  const end = ephemeralRangeStart();
  if (end === undefined || end - LOWEST_PICKED_PORT < SLICES * 64) return listenOnce(0);
  const sliceSize = Math.floor((end - LOWEST_PICKED_PORT) / SLICES);
  const sliceStart = LOWEST_PICKED_PORT + (process.pid % SLICES) * sliceSize;
  const offset = Math.floor(Math.random() * sliceSize);
  for (let step = 0; step < sliceSize; step += 1) {
    const port = sliceStart + ((offset + step) % sliceSize);
    if (picked.has(port)) continue;
    try {
      await listenOnce(port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw error;
    }
    picked.add(port);
    return port;
  }
  return listenOnce(0);
}
