import type { Socket } from 'node:net';
import { Client } from 'pg';
import { withTimeout } from '../util/timeout';

/** The parts of a pg Client this module reads: its socket, and whether a statement is in flight. */
interface PgClientInternals {
  connection: { stream: Socket };
  activeQuery: unknown;
}

export interface UnresponsiveServerOptions {
  url: string;
  /** How long a statement may go without a byte from the server before the server is probed. */
  silenceMs: number;
  /** How long the probe (a new connection and `select 1`) may take before the server counts as gone. */
  probeTimeoutMs: number;
}

/**
 * Whether PostgreSQL answers at all: a connection of its own and `select 1`, within the timeout.
 * The statements that wait at the same moment share one probe.
 */
function livenessProbe(url: string, timeoutMs: number): () => Promise<boolean> {
  let inFlight: Promise<boolean> | undefined;
  const probe = async () => {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
    // A failure surfaces through connect() or query(); this only keeps a late one from being unhandled.
    client.on('error', () => undefined);
    try {
      await withTimeout(
        client.connect().then(() => client.query('select 1')),
        timeoutMs,
        'postgres liveness probe',
      );
      void client.end().catch(() => undefined);
      return true;
    } catch {
      // A frozen server would never answer a polite goodbye.
      (client as unknown as PgClientInternals).connection.stream.destroy();
      return false;
    }
  };
  return () => (inFlight ??= probe().finally(() => (inFlight = undefined)));
}

/**
 * The pool's `afterCreate` hook that keeps a frozen PostgreSQL (SIGSTOP, a network partition:
 * nothing answers, not even a server-side timeout) from hanging requests. When a statement has had
 * no byte from the server for `silenceMs`, the server is probed on a new connection: if it answers,
 * the statement is only slow and is left to run; if not, the statement's connection is closed,
 * which fails it (and those queued behind it) as the connection lost, and keeps the pool from
 * handing that connection out again.
 *
 * Closing the connection, rather than only giving up on the statement (pg's `query_timeout`), is
 * what keeps writes whole: the server rolls back the open transaction when it sees the connection
 * closed, whereas a connection returned to the pool with its transaction open would carry that
 * transaction's statements into the next caller's COMMIT.
 */
export function closeWhenServerUnresponsive({ url, silenceMs, probeTimeoutMs }: UnresponsiveServerOptions) {
  const answers = livenessProbe(url, probeTimeoutMs);
  return (client: PgClientInternals, done: (error: Error | null, client: unknown) => void) => {
    const socket = client.connection.stream;
    // 'timeout' means no traffic either way for `silenceMs`; an idle connection in the pool is left alone.
    socket.setTimeout(silenceMs);
    socket.on('timeout', () => {
      if (!client.activeQuery) return;
      void answers().then((alive) => {
        if (!alive) socket.destroy();
        // Alive: wait as long again before asking once more.
        else socket.setTimeout(silenceMs);
      });
    });
    done(null, client);
  };
}
