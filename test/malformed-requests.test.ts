import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../common/config/paths';
import { startTestPlatform, type TestPlatform } from './support/platform';
import { parsedLine, type ServiceProcess, startServiceProcess } from '../common/testing/service-process';

/*
 * What a client gets for a request that is not GraphQL over HTTP at all, from the gateway and
 * from a subgraph, each run as production runs it: in a process of its own, whose stderr is
 * watched. Express used to answer these with its HTML error page (stack trace included outside
 * production) and print each stack to stderr.
 */

interface Malformed {
  name: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

const MALFORMED: Malformed[] = [
  {
    name: 'malformed JSON',
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: '{"query": ',
  },
  {
    name: 'a UTF-16 body',
    status: 415,
    headers: { 'content-type': 'application/json; charset=utf-16' },
    body: '{"query":"{ __typename }"}',
  },
  { name: 'a body of null', status: 400, headers: { 'content-type': 'application/json' }, body: 'null' },
  { name: 'a bare number', status: 400, headers: { 'content-type': 'application/json' }, body: '5' },
  {
    name: 'a corrupt gzip body',
    status: 400,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: 'not gzip',
  },
  {
    name: 'an unknown content encoding',
    status: 415,
    headers: { 'content-type': 'application/json', 'content-encoding': 'br2' },
    body: '{}',
  },
];

/** Sends the head and half the body of a request, then drops the connection. */
async function abortMidBody(url: string): Promise<void> {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(
    `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"query":`,
  );
  // Once the server has started reading the body, hang up.
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
}

const logLines = (service: ServiceProcess) =>
  service.stdout.map(parsedLine).filter((line): line is Record<string, unknown> => line !== undefined);

async function untilLogged(service: ServiceProcess, matches: (line: Record<string, unknown>) => boolean) {
  for (let waited = 0; !logLines(service).some(matches); waited += 20) {
    if (waited > 10_000) throw new Error('never logged');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('malformed requests', () => {
  let platform: TestPlatform;
  const services: Record<string, ServiceProcess> = {};

  beforeAll(async () => {
    platform = await startTestPlatform('malformed-requests');
    // Outside production and outside `test`, where Express prints stacks and puts them in its page.
    const env = { ...platform.env, NODE_ENV: 'development' };
    const prefix = `${platform.namespace}:${randomBytes(4).toString('hex')}`;
    [services.gateway, services.chat] = await Promise.all([
      startServiceProcess(join(projectRoot(), 'gateway/main.ts'), {
        ...env,
        REDIS_KEY_PREFIX: `${prefix}:gateway:`,
        AUTH_URL: platform.subgraphs.auth.url,
        CONVERSATION_URL: platform.subgraphs.conversation.url,
        CHAT_URL: platform.subgraphs.chat.url,
      }),
      startServiceProcess(join(projectRoot(), 'subgraphs/chat/main.ts'), {
        ...env,
        REDIS_KEY_PREFIX: `${prefix}:chat:`,
        CONVERSATION_URL: platform.subgraphs.conversation.url,
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(Object.values(services).map((service) => service.stop()));
    await platform?.stop();
  });

  describe.each(['gateway', 'chat'])('sent to the %s', (name) => {
    it.each(MALFORMED)(
      'answers $name as a coded GraphQL error in JSON',
      async ({ status, headers, body }) => {
        const response = await fetch(services[name].url, { method: 'POST', headers, body });
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toContain('application/json');
        const requestId = response.headers.get('x-request-id');
        expect(await response.json()).toEqual({
          errors: [
            {
              message: expect.any(String),
              extensions: expect.objectContaining({ code: 'BAD_REQUEST', requestId }),
            },
          ],
        });
        await untilLogged(
          services[name],
          (line) => line.msg === 'request refused' && line.requestId === requestId,
        );
      },
    );

    it('answers an unknown path with a JSON 404', async () => {
      const response = await fetch(new URL('/no/such/path', services[name].url));
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    });

    it('logs an aborted request as one structured line', async () => {
      await abortMidBody(services[name].url);
      await untilLogged(services[name], (line) => line.reason === 'request.aborted');
      expect(services[name].stderr).toEqual([]);
    });
  });

  it('puts the request id in the body of the refusals Apollo Server makes itself', async () => {
    const csrf = await fetch(services.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"query":"{ __typename }"}',
    });
    expect(csrf.status).toBe(400);
    expect(await csrf.json()).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST', requestId: csrf.headers.get('x-request-id') } }],
    });
    const noQuery = await fetch(services.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await noQuery.json()).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST', requestId: noQuery.headers.get('x-request-id') } }],
    });
  });
});
