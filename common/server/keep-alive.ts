import type { Server } from 'node:http';

/**
 * How long a service keeps an idle client connection open. Node's default (5 s) is shorter than
 * the idle timeouts of what sits in front of a service (HAProxy reuses idle server connections for
 * 5 s, ingress-nginx for 60 s), so the service would close connections its client is about to
 * reuse: a request sent as the service closes its end is reset, or worse, read and then cut off
 * unanswered, and a proxy that sends it again elsewhere replays its one-time signed identity. The
 * service closing last leaves every close to the client, which does so only between requests. The
 * gateway's and chat's own connections to subgraphs close after IDLE_CONNECTION_MS
 * (common/http/keep-alive-agent.ts).
 */
export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Gives `server` the keep-alive timeout above. */
export function keepClientConnectionsAlive(server: Server): Server {
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_TIMEOUT_MS;
  return server;
}
