import { randomUUID } from 'node:crypto';
import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { postGraphQL } from '../../common/testing/graphql-client';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { startGatewayOn } from '../plugins/testing/edge-gateway';

/*
 * An operation that fails is that operation's answer, never the connection's: a failed query or
 * mutation over graphql-ws used to close the whole socket (4500 `e.toJSON is not a function`),
 * ending every other stream on it.
 */

type Result = FormattedExecutionResult<Record<string, unknown>>;

const FOLLOW = `
  subscription Follow($id: ID!) {
    generation(id: $id) { seq type }
  }`;

/** Everything one operation sends over graphql-ws: its results, or the errors it was refused with. */
function resultsOf(
  client: Client,
  query: string,
  options: { operationName?: string; variables?: Record<string, unknown> } = {},
): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const results: Result[] = [];
    client.subscribe(
      { query, ...options },
      {
        next: (result) => results.push(result as Result),
        error: (errors) => (Array.isArray(errors) ? resolve([...results, { errors }]) : reject(errors)),
        complete: () => resolve(results),
      },
    );
  });
}

const codesOf = (results: Result[]) =>
  results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code));

describe('a failed operation over a WebSocket', () => {
  let platform: TestPlatform;
  let gateway: RunningGateway;
  let ada: TestUser;

  beforeAll(async () => {
    platform = await startTestPlatform('operation-errors', { env: { OFFLINE_TOKEN_INTERVAL_MS: '20' } });
    // One chat send a minute: the test's first message spends it, a second send is refused.
    gateway = await startGatewayOn(platform, { RATE_LIMIT_CHAT_SENDS: '1/60' });
    ada = await registerUser({ gatewayUrl: gateway.url });
  });
  afterAll(async () => {
    await gateway?.stop();
    await platform?.stop();
  });

  it('answers each failure as that operation’s error, while another stream on the socket goes on', async () => {
    let closedWith: number | undefined;
    const client = createClient({
      url: gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: ada.headers.authorization },
      retryAttempts: 0,
      // One socket throughout: a lazy client would close it (1000) whenever nothing is running.
      lazy: false,
      on: { closed: (event) => (closedWith = (event as { code: number }).code) },
    });
    try {
      const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
        gateway.url,
        'mutation { sendMessage(input: { content: "Tell me a long story" }) { generation { id } } }',
        {},
        ada.headers,
      );
      const stream = resultsOf(client, FOLLOW, { variables: { id: sent.data?.sendMessage.generation.id } });
      const failures = {
        NOT_FOUND: `{ conversation(id: "${randomUUID()}") { id } }`,
        GRAPHQL_VALIDATION_FAILED: '{ noSuchField }',
        GRAPHQL_PARSE_FAILED: '{ me { id ',
        ambiguous: 'query A { __typename } query B { __typename }',
        RATE_LIMITED: 'mutation { sendMessage(input: { content: "again" }) { userMessage { id } } }',
      };
      for (const [expected, query] of Object.entries(failures)) {
        const results = await resultsOf(client, query);
        const code = expected === 'ambiguous' ? 'OPERATION_RESOLUTION_FAILURE' : expected;
        expect({ query, codes: codesOf(results) }).toEqual({ query, codes: [code] });
        const [error] = results.flatMap((result) => result.errors ?? []);
        expect(error.extensions?.requestId).toEqual(expect.any(String));
      }
      const unknownName = await resultsOf(client, 'query A { __typename }', { operationName: 'B' });
      expect(codesOf(unknownName)).toEqual(['OPERATION_RESOLUTION_FAILURE']);

      // The stream opened first ends as it should, with DONE, and the socket still serves.
      const events = (await stream).map((result) => (result.data?.generation as { type: string }).type);
      expect(events.at(-1)).toBe('DONE');
      expect(await resultsOf(client, '{ me { id } }')).toEqual([{ data: { me: { id: ada.id } } }]);
      expect(closedWith).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it('answers a failed query over SSE as JSON errors with a code', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...ada.headers },
      body: JSON.stringify({ query: `{ conversation(id: "${randomUUID()}") { id } }` }),
    });
    const text = await response.text();
    expect(text).toContain('"code":"NOT_FOUND"');
    expect(text).toContain('"requestId"');
  });
});
