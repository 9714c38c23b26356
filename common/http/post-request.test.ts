import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveAgent } from './keep-alive-agent';
import { postOverAgent, PostTimeoutError } from './post-request';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function subgraphAnswering(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` };
}

describe('posting to a subgraph', () => {
  const servers: Server[] = [];
  const start = async (handler: Handler) => {
    const started = await subgraphAnswering(handler);
    servers.push(started.server);
    return { ...started, agent: keepAliveAgent(started.url, 4) };
  };
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends the body with its headers and reads the whole answer', async () => {
    const { url, agent } = await start((request, body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data: { echo: body, header: request.headers['x-request-id'] } }));
    });

    const answer = await postOverAgent(url, agent, { 'x-request-id': 'r-1' }, '{"query":"{ a }"}', 1000);

    expect(answer).toEqual({
      status: 200,
      statusText: 'OK',
      contentType: 'application/json',
      body: JSON.stringify({ data: { echo: '{"query":"{ a }"}', header: 'r-1' } }),
    });
    agent.destroy();
  });

  it('answers a non-2xx status as it came, body included', async () => {
    const { url, agent } = await start((_request, _body, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end('{"errors":[{"message":"down"}]}');
    });

    await expect(postOverAgent(url, agent, {}, '{}', 1000)).resolves.toMatchObject({
      status: 503,
      body: '{"errors":[{"message":"down"}]}',
    });
    agent.destroy();
  });

  it('gives up with PostTimeoutError on a subgraph that does not answer in time', async () => {
    const { url, agent } = await start(() => undefined);

    await expect(postOverAgent(url, agent, {}, '{}', 100)).rejects.toBeInstanceOf(PostTimeoutError);
    agent.destroy();
  });

  it('fails when the subgraph cuts the connection in the middle of its answer', async () => {
    const { url, agent } = await start((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"data":');
      setTimeout(() => response.socket?.destroy(), 20);
    });

    await expect(postOverAgent(url, agent, {}, '{}', 1000)).rejects.toThrow();
    agent.destroy();
  });

  it('fails at once when nothing listens', async () => {
    const url = 'http://127.0.0.1:9/graphql';
    await expect(postOverAgent(url, keepAliveAgent(url, 1), {}, '{}', 1000)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
