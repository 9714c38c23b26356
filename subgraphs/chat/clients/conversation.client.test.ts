import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../../common/errors/errors';
import type { UserCaller } from '../../../common/identity/caller';
import { IDENTITY_HEADER, operationDigest, verifyIdentity } from '../../../common/identity/identity';
import { REQUEST_ID_HEADER } from '../../../common/server/request-id';
import { TEST_IDENTITY_SECRET } from '../../../common/testing/env';
import { silentLogger } from '../../../common/testing/logger';
import { findFreePort } from '../../../common/util/free-port';
import { ConversationSubgraphClient } from './conversation.client';

/*
 * The client against a loopback server standing in for the conversation subgraph: what it sends,
 * and how each way the subgraph can fail reaches chat's callers.
 */

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

const caller: UserCaller = {
  userId: 'user-1',
  role: 'USER',
  sessionId: 'session-1',
  requestId: 'request-1',
  issuer: 'gateway',
  service: null,
};

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

const conversationUnavailable = {
  code: 'UPSTREAM_UNAVAILABLE',
  details: { dependency: 'conversation', retryAfter: expect.any(Number) },
};

describe('the conversation subgraph client', () => {
  const servers: Server[] = [];
  const clients: ConversationSubgraphClient[] = [];
  const clientFor = (url: string, timeoutMs = 2_000) => {
    const client = new ConversationSubgraphClient({
      url,
      identitySecret: TEST_IDENTITY_SECRET,
      timeoutMs,
      logger: silentLogger(),
    });
    clients.push(client);
    return client;
  };
  /** A client of a subgraph that answers every request with `handler`. */
  const answering = async (handler: Handler, timeoutMs?: number) => {
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => handler(request, body, response));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, timeoutMs);
  };
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('POSTs the operation with an identity signed as chat for the caller, this subgraph and this operation', async () => {
    const received: { request: IncomingMessage; body: string }[] = [];
    const client = await answering((request, body, response) => {
      received.push({ request, body });
      json(response, 200, { data: { updateMessage: { id: 'm-1' } } });
    });

    await client.updateMessage(caller, { id: 'm-1', conversationTitle: 'A title' });

    const [{ request, body }] = received;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers[REQUEST_ID_HEADER]).toBe('request-1');
    const operation = JSON.parse(body) as { query: string; variables: Record<string, unknown> };
    expect(operation.variables).toEqual({ input: { id: 'm-1', conversationTitle: 'A title' } });
    const { identity } = verifyIdentity(request.headers[IDENTITY_HEADER] as string, TEST_IDENTITY_SECRET, {
      audience: 'conversation',
      digest: operationDigest(operation),
    });
    expect(identity).toEqual({
      userId: 'user-1',
      role: 'USER',
      sessionId: null,
      requestId: 'request-1',
      issuer: 'chat',
    });
  });

  it('reads the answer’s data: dates as dates, a parent as its id', async () => {
    const client = await answering((_request, _body, response) =>
      json(response, 200, {
        data: {
          messagePath: [
            {
              id: 'm-1',
              role: 'USER',
              content: 'Hello',
              status: 'COMPLETE',
              createdAt: '2026-01-01T00:00:00.000Z',
              conversation: { id: 'c-1', title: 'Greetings' },
              parent: null,
              promptTokens: null,
              completionTokens: null,
              model: null,
            },
          ],
        },
      }),
    );

    await expect(client.messagePath(caller, 'm-1', 10)).resolves.toEqual([
      expect.objectContaining({ id: 'm-1', parentId: null, createdAt: new Date('2026-01-01T00:00:00.000Z') }),
    ]);
  });

  it('reads a recall’s hits as a prompt uses them', async () => {
    const client = await answering((_request, _body, response) =>
      json(response, 200, {
        data: {
          recallMessages: [
            {
              score: 0.5,
              message: {
                id: 'm-1',
                role: 'USER',
                content: 'Hello',
                conversation: { id: 'c-1', title: 'Greetings' },
              },
            },
          ],
        },
      }),
    );

    await expect(client.recallMessages(caller, 'hello', null, 3)).resolves.toEqual([
      {
        score: 0.5,
        message: {
          id: 'm-1',
          role: 'USER',
          content: 'Hello',
          conversation: { id: 'c-1', title: 'Greetings' },
        },
      },
    ]);
  });

  it('passes a caller’s error on unchanged, with its details but not the subgraph’s request id', async () => {
    const client = await answering((_request, _body, response) =>
      json(response, 200, {
        errors: [
          {
            message: 'Message not found',
            extensions: { code: 'NOT_FOUND', requestId: 'request-1', what: 'message' },
          },
        ],
        data: null,
      }),
    );

    const failure = await client
      .updateMessage(caller, { id: 'm-1', content: 'A reply' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({
      code: 'NOT_FOUND',
      message: 'Message not found',
      details: { what: 'message' },
    });
  });

  it('passes on the store the subgraph itself names as unavailable, whatever the HTTP status', async () => {
    const client = await answering((_request, _body, response) =>
      json(response, 503, {
        errors: [
          {
            message: 'postgresql is unavailable, try again shortly',
            extensions: { code: 'UPSTREAM_UNAVAILABLE', dependency: 'postgresql', retryAfter: 2 },
          },
        ],
      }),
    );

    await expect(client.updateMessage(caller, { id: 'm-1', content: 'x' })).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      details: { dependency: 'postgresql', retryAfter: 2 },
    });
  });

  it.each([
    [
      'an error of its own (INTERNAL)',
      (response: ServerResponse) =>
        json(response, 500, { errors: [{ message: 'boom', extensions: { code: 'INTERNAL' } }] }),
    ],
    [
      'a refused signature',
      (response: ServerResponse) =>
        json(response, 401, { errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] }),
    ],
    [
      'a proxy’s page instead of JSON',
      (response: ServerResponse) => {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html>Bad Gateway</html>');
      },
    ],
    [
      'a malformed body',
      (response: ServerResponse) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"data":');
      },
    ],
    ['neither data nor errors', (response: ServerResponse) => json(response, 200, {})],
    [
      'data of an unexpected shape',
      (response: ServerResponse) => json(response, 200, { data: { recallMessages: [{ score: 'high' }] } }),
    ],
  ])('answers %s as the conversation subgraph unavailable', async (_case, answer) => {
    const client = await answering((_request, _body, response) => answer(response));

    await expect(client.recallMessages(caller, 'hello', null, 3)).rejects.toMatchObject(
      conversationUnavailable,
    );
  });

  it('gives up past its timeout, as the conversation subgraph unavailable', async () => {
    const client = await answering(() => undefined, 200);

    const started = performance.now();
    await expect(client.updateMessage(caller, { id: 'm-1', content: 'x' })).rejects.toMatchObject(
      conversationUnavailable,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('answers a connection cut in the middle of the answer as the conversation subgraph unavailable', async () => {
    const client = await answering((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"data":');
      setTimeout(() => response.socket?.destroy(), 20);
    });

    await expect(client.updateMessage(caller, { id: 'm-1', content: 'x' })).rejects.toMatchObject(
      conversationUnavailable,
    );
  });

  it('answers a refused connection as the conversation subgraph unavailable', async () => {
    const client = clientFor(`http://127.0.0.1:${await findFreePort()}/graphql`);

    await expect(client.updateMessage(caller, { id: 'm-1', content: 'x' })).rejects.toMatchObject(
      conversationUnavailable,
    );
  });
});
