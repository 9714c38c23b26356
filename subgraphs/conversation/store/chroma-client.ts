import { trace } from '@opentelemetry/api';
import type { Agent } from 'node:http';
import {
  ChromaClient,
  ChromaClientError,
  ChromaConnectionError,
  ChromaNotFoundError,
  ChromaServerError,
} from 'chromadb';
import { keepAliveAgent } from '../../../common/http/keep-alive-agent';
import { postOverAgent, PostTimeoutError } from '../../../common/http/post-request';
import { postAttributes, tracedHttpCall } from '../../../common/telemetry/client-span';

const tracer = trace.getTracer('llm-chat/conversation');
/** Connections kept to Chroma: recalls and the indexer's rounds, side by side. */
const MAX_CONNECTIONS = 16;

/**
 * Chroma's REST API (v2) for the calls a turn makes (a recall's query, the indexer's upsert): plain
 * POSTs over kept-alive connections, as chat calls the conversation subgraph (common/http/). The
 * chromadb client goes through Node's `fetch`, which cost 2.4 ms of the caller's CPU per query
 * against 0.55 ms this way (docs/performance.md, eighth round); everything else (collections made,
 * listed, dropped) still goes through the client. A failure is the error the client would throw.
 */
export class ChromaRest {
  private readonly agent: Agent;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {
    this.agent = keepAliveAgent(url, MAX_CONNECTIONS);
  }

  /**
   * POSTs `body` as JSON to `path` and resolves with the JSON answered. Its span is a database
   * call after OpenTelemetry's DB conventions (`db.system.name: chromadb`, the operation, `query` or
   * `upsert`, being the path's last segment) as well as an HTTP one.
   */
  async post<T>(path: string, body: unknown): Promise<T> {
    const target = new URL(path, this.url).href;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const operation = path.slice(path.lastIndexOf('/') + 1);
    const attributes = {
      ...postAttributes(target),
      'db.system.name': 'chromadb',
      'db.operation.name': operation,
    };
    const response = await tracedHttpCall(
      tracer,
      attributes,
      headers,
      () => postOverAgent(target, this.agent, headers, JSON.stringify(body), this.timeoutMs),
      operation,
    ).catch((error: unknown) => {
      throw new ChromaConnectionError(
        error instanceof PostTimeoutError
          ? `Chroma did not answer within ${this.timeoutMs} ms`
          : 'Failed to connect to Chroma',
      );
    });
    if (response.status < 200 || response.status >= 300) throw chromaError(response.status, response.body);
    try {
      return (response.body ? JSON.parse(response.body) : {}) as T;
    } catch {
      throw new ChromaServerError('Chroma answered with something other than JSON');
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** The error the chromadb client throws for the same answer. */
function chromaError(status: number, body: string): Error {
  let message = `${status}`;
  try {
    const parsed = JSON.parse(body) as { message?: string; error?: string };
    message = parsed.message ?? parsed.error ?? message;
  } catch {
    // Not JSON: the status says enough.
  }
  if (status === 404) return new ChromaNotFoundError('The requested resource could not be found');
  if (status >= 500) return new ChromaServerError(message);
  return new ChromaClientError(`Bad request to Chroma with status: ${message}`);
}

/** The chromadb client and the REST transport, both for one Chroma server. */
export interface ChromaConnection {
  client: ChromaClient;
  rest: ChromaRest;
}

/** The Chroma JS client takes host, port and ssl apart; the platform configures one URL. */
export function createChromaConnection(url: string, timeoutMs: number): ChromaConnection {
  const parsed = new URL(url);
  const ssl = parsed.protocol === 'https:';
  const client = new ChromaClient({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : ssl ? 443 : 80,
    ssl,
  });
  return { client, rest: new ChromaRest(url, timeoutMs) };
}
