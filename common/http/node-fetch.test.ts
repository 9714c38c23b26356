import { trace } from '@opentelemetry/api';
import { once } from 'node:events';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findFreePort } from '../util/free-port';
import { nodeFetch } from './node-fetch';

const tracer = trace.getTracer('node-fetch.test');

describe('nodeFetch', () => {
  let server: Server;
  let base: string;
  let handle: (request: IncomingMessage, response: ServerResponse, body: string) => void;
  const agent = new Agent({ keepAlive: true });
  const fetchOver = nodeFetch(agent, tracer);

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => handle(request, response, body));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the method, the headers and the body', async () => {
    handle = (request, response, body) =>
      response.end(JSON.stringify({ method: request.method, type: request.headers['content-type'], body }));
    const response = await fetchOver(`${base}/echo`, {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: '{"question":42}',
    });
    expect(await response.json()).toEqual({
      method: 'POST',
      type: 'application/json',
      body: '{"question":42}',
    });
  });

  it('reads any other body whole into a standard Response, with its status and headers', async () => {
    handle = (_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
      response.end('{"error":{"message":"no such model"}}');
    };
    const response = await fetchOver(`${base}/v1/models/missing`);
    expect(response).toBeInstanceOf(Response);
    expect(response.ok).toBe(false);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(await response.text()).toBe('{"error":{"message":"no such model"}}');
  });

  it('answers a bodiless status with no body', async () => {
    handle = (_request, response) => response.writeHead(204).end();
    const response = await fetchOver(`${base}/nothing`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it("hands over an event stream's body as it arrives, as a Node stream to iterate", async () => {
    let next!: () => void;
    handle = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
      next = () => response.end('data: two\n\n');
    };
    const response = await fetchOver(`${base}/stream`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const chunks: string[] = [];
    for await (const chunk of response.body as unknown as AsyncIterable<Buffer>) {
      chunks.push(chunk.toString());
      // The first chunk is read before the server has written the second.
      if (chunks.length === 1) next();
    }
    expect(chunks.join('')).toBe('data: one\n\ndata: two\n\n');
  });

  it('fails the body being read when the signal aborts, and closes the connection', async () => {
    let closed!: Promise<unknown>;
    handle = (request, response) => {
      closed = once(request.socket, 'close');
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
    };
    const controller = new AbortController();
    const response = await fetchOver(`${base}/stream`, { signal: controller.signal });
    const reading = (async () => {
      for await (const chunk of response.body as unknown as AsyncIterable<Buffer>) {
        if (chunk.toString().includes('one')) controller.abort();
      }
    })();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await closed;
  });

  it('rejects with the reason of a signal aborted before it starts, connecting nowhere', async () => {
    handle = () => {
      throw new Error('not called');
    };
    const reason = new Error('stopped');
    await expect(fetchOver(`${base}/never`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('rejects when nothing listens, as fetch does', async () => {
    const port = await findFreePort();
    await expect(fetchOver(`http://127.0.0.1:${port}/v1/models`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('refuses a body it cannot send rather than send something else', async () => {
    await expect(
      fetchOver(`${base}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1' }) }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});
