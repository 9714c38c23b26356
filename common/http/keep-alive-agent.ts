import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * The longest a connection (to a subgraph, or to Chroma) stays open unused. Setting any idle timeout also makes
 * Node honour the `Keep-Alive: timeout=N` a server announces, closing the connection a second
 * before the server would: without one, Node keeps idle connections forever, and a request sent
 * as the server closes its end fails with ECONNRESET, which a mutation cannot retry.
 */
export const IDLE_CONNECTION_MS = 30_000;

/** Kept-alive connections to one server, closed by this side before the server closes them. */
export function keepAliveAgent(url: string, maxSockets: number, idleMs = IDLE_CONNECTION_MS): HttpAgent {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: idleMs };
  return url.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options);
}
