import type { Tracer } from '@opentelemetry/api';
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { requestAttributes, tracedHttpCall } from '../telemetry/client-span';

/** Statuses whose response has no body: a Response built with one throws. */
const BODILESS = new Set([101, 204, 205, 304]);

/**
 * `fetch` over node:http with `agent`'s kept-alive connections, for an SDK that takes one (the
 * `openai` package). An event stream's `body` is the response itself: a Node stream, which the SDK
 * iterates chunk by chunk as it does a web stream. Through the global fetch every chunk of a reply
 * also went through undici's WHATWG streams (its controller, a reader's promise, a transfer), about
 * a third of what consuming a token cost (docs/performance.md, "Fifteenth round"). Any other body is
 * read whole into a standard Response. Aborting `init.signal` destroys the request and its response,
 * so a body being read fails with the abort; a failed connection rejects, as fetch does. Inside a
 * trace each request is a CLIENT span of `tracer`'s, its context sent on in `traceparent`.
 */
export function nodeFetch(agent: Agent, tracer: Tracer): typeof fetch {
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const body = init.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return Promise.reject(new TypeError('nodeFetch sends only a string or bytes as a body'));
    }
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    return tracedHttpCall(tracer, requestAttributes(method, url.href), headers, () =>
      send(url, { method, headers, agent, signal }, body),
    );
  };
}

function send(
  url: URL,
  options: RequestOptions,
  body: string | Uint8Array | null | undefined,
): Promise<Response> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    const outgoing = request(url, options, (incoming) => {
      // Whoever reads the body sees its failure; unread, a failure must not be an uncaught error.
      incoming.on('error', () => undefined);
      responseOf(incoming, options.signal ?? undefined).then(resolve, (error: unknown) => {
        incoming.destroy();
        reject(error);
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body ?? undefined);
  });
}

/** An event stream's body is `incoming` itself, unread; any other is read whole. */
async function responseOf(incoming: IncomingMessage, signal: AbortSignal | undefined): Promise<Response> {
  const status = incoming.statusCode ?? 0;
  const init = { status, statusText: incoming.statusMessage, headers: headersOf(incoming) };
  const eventStream = incoming.headers['content-type']?.startsWith('text/event-stream') ?? false;
  if (eventStream && status >= 200 && status < 300) {
    // Its reader fails with the abort, as fetch's would, rather than with the reset that follows it.
    const abort = () => incoming.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', abort, { once: true });
    incoming.once('close', () => signal?.removeEventListener('abort', abort));
    const response = new Response(null, init);
    Object.defineProperty(response, 'body', { value: incoming });
    return response;
  }
  const bytes = await readWhole(incoming);
  return new Response(BODILESS.has(status) ? null : bytes, init);
}

function headersOf(incoming: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return headers;
}

async function readWhole(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
