import { registerUser, type TestUser } from '../common/testing/auth';
import { type GraphQLResponse, postGraphQL } from '../common/testing/graphql-client';
import { captureLogs } from '../common/testing/logger';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * Control characters and lone surrogates sent through the gateway, as an attacker would: each
 * must be a BAD_USER_INPUT naming the field (never INTERNAL, never UPSTREAM_UNAVAILABLE), and no
 * database error may be logged, since the value never reaches PostgreSQL.
 */

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\ud83db';

describe('text input through the gateway', () => {
  let platform: TestPlatform;
  let user: TestUser;
  const logs = captureLogs();

  beforeAll(async () => {
    platform = await startTestPlatform('input-hygiene', { logger: logs.logger });
    user = await registerUser(platform);
  });
  afterAll(() => platform?.stop());

  const send = (query: string, variables: Record<string, unknown>, headers = user.headers) =>
    postGraphQL(platform.gatewayUrl, query, variables, headers);
  const refusal = (response: GraphQLResponse<unknown>) => ({
    code: response.errors?.[0]?.extensions?.code,
    field: response.errors?.[0]?.extensions?.field,
  });
  const createConversation = async (title: string) =>
    (
      (await send('mutation($t: String) { createConversation(title: $t) { id } }', {
        t: title,
      })) as GraphQLResponse<{
        createConversation: { id: string };
      }>
    ).data?.createConversation.id as string;

  const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
  const registration = (input: Record<string, string>) => ({
    i: {
      email: `new-${Date.now()}@example.test`,
      password: 'a long enough passphrase',
      displayName: 'New',
      ...input,
    },
  });

  it.each([
    ['an email', { email: `a${NUL}@example.test` }, 'email'],
    ['a display name', { displayName: NUL }, 'displayName'],
    ['a password', { password: `long enough ${NUL} passphrase` }, 'password'],
  ])('refuses a NUL byte in %s at register', async (_what, input, field) => {
    expect(refusal(await send(REGISTER, registration(input), {}))).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  it('refuses a NUL byte in the email at login and password reset', async () => {
    const login = await send(
      'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
      { i: { email: `${user.email}${NUL}`, password: user.password } },
      {},
    );
    expect(refusal(login)).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
    const reset = await send('mutation($e: String!) { requestPasswordReset(email: $e) }', { e: NUL }, {});
    expect(refusal(reset)).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it('refuses control characters and line breaks in conversation titles', async () => {
    const created = await send('mutation($t: String) { createConversation(title: $t) { id } }', { t: NUL });
    expect(refusal(created)).toEqual({ code: 'BAD_USER_INPUT', field: 'title' });
    const id = await createConversation('Plain');
    const renamed = await send(
      'mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id } }',
      {
        id,
        t: 'two\nlines',
      },
    );
    expect(refusal(renamed)).toEqual({ code: 'BAD_USER_INPUT', field: 'title' });
  });

  it.each([
    ['a NUL byte', NUL],
    ['a lone surrogate', LONE_SURROGATE],
    ['an escape sequence', 'red \u001b[31m text'],
  ])('refuses %s in message content, before chat calls the conversation subgraph', async (_what, content) => {
    const sent = await send(
      'mutation($c: String!) { sendMessage(input: { content: $c }) { generation { id } } }',
      {
        c: content,
      },
    );
    expect(refusal(sent)).toEqual({ code: 'BAD_USER_INPUT', field: 'content' });
  });

  it('refuses a NUL byte in a search query and an id', async () => {
    const search = await send('query($q: String!) { searchMessages(query: $q) { score } }', { q: NUL });
    expect(refusal(search)).toEqual({ code: 'BAD_USER_INPUT', field: 'query' });
    const conversation = await send('query($id: ID!) { conversation(id: $id) { id } }', { id: NUL });
    expect(refusal(conversation)).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('accepts tabs and line breaks in message content', async () => {
    const sent = await send(
      'mutation($c: String!) { sendMessage(input: { content: $c }) { userMessage { content } } }',
      { c: 'first line\n\tindented\r\nlast' },
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data).toEqual({
      sendMessage: { userMessage: { content: 'first line\n\tindented\r\nlast' } },
    });
  });

  it('logged no unexpected error: nothing reached PostgreSQL', () => {
    expect(logs.lines().filter((line) => line.includes('unexpected error'))).toEqual([]);
  });
});
