import { type Agent, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A server's HTTP answer, read whole. */
export interface PostResponse {
  status: number;
  statusText: string;
  contentType: string | undefined;
  body: string;
}

/** The server did not answer in full within the time allowed. */
export class PostTimeoutError extends Error {
  override name = 'PostTimeoutError';
}

/**
 * POSTs `body` over `agent`'s kept-alive connections and reads the answer whole, or rejects: with
 * PostTimeoutError past `timeoutMs`, or with the socket's error. Node's own http client rather than
 * a fetch implementation: a call needs none of fetch's streams, Headers or Request objects, which
 * cost more than the call itself on the hot paths of the gateway (its subgraph fetches), of chat (its
 * calls to the conversation subgraph) and of the conversation subgraph (its calls to Chroma).
 */
export function postOverAgent(
  url: string,
  agent: Agent,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResponse> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            contentType: response.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        response.on('close', () => {
          if (!response.complete) fail(new Error('The server closed the connection before its answer ended'));
        });
      },
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new PostTimeoutError(`The server did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on('error', fail);
    request.end(body);
  });
}
