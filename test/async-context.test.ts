import { AsyncLocalStorage } from 'node:async_hooks';
import { registerUser, type TestUser } from '../common/testing/auth';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { eventually } from '../common/testing/wait';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * On Node 20 the first `run` (or `enterWith`) of any AsyncLocalStorage installs async hooks for the
 * rest of the process's life, and from then on every promise a service makes pays an init hook and
 * a propagation (docs/performance.md, fourteenth round). MikroORM's `em.transactional` and flush
 * are such runs; the services' writes go through common/stores/transaction.ts and native statements
 * instead. This walks the writes of every subgraph, from starting up (migrations, the first signing
 * key) to the search indexer's round, and checks that none of it entered an AsyncLocalStorage.
 */
/** Where the platform entered an AsyncLocalStorage: jest's own runner runs each test in one, and is left out. */
function recordEntries(): { entries: string[]; restore: () => void } {
  const entries: string[] = [];
  const { run, enterWith } = AsyncLocalStorage.prototype;
  const record = () => {
    const stack = new Error().stack ?? '';
    if (!stack.includes('jest-circus')) entries.push(stack);
  };
  AsyncLocalStorage.prototype.run = function (
    this: AsyncLocalStorage<unknown>,
    ...args: Parameters<typeof run>
  ) {
    record();
    return run.apply(this, args);
  } as typeof run;
  AsyncLocalStorage.prototype.enterWith = function (this: AsyncLocalStorage<unknown>, store: unknown) {
    record();
    enterWith.call(this, store);
  };
  return {
    entries,
    restore: () => Object.assign(AsyncLocalStorage.prototype, { run, enterWith }),
  };
}

describe('the services and AsyncLocalStorage', () => {
  const recorded = recordEntries();
  let platform: TestPlatform;
  let ada: TestUser;

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(platform.gatewayUrl, query, variables, ada.headers);
  const ok = async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const response = await gql<T>(query, variables);
    expect(errorCodes(response)).toEqual([]);
    return response.data as T;
  };

  beforeAll(async () => {
    platform = await startTestPlatform('async-context');
    ada = await registerUser(platform);
  });
  afterAll(async () => {
    await platform?.stop();
    recorded.restore();
  });

  it('are never entered by starting up, signing in, a turn, its save and index, or the other writes', async () => {
    const refreshed = await postGraphQL<{ refreshToken: { accessToken: string } }>(
      platform.gatewayUrl,
      `mutation($token: String!) { refreshToken(token: $token) { accessToken } }`,
      { token: ada.refreshToken },
    );
    expect(errorCodes(refreshed)).toEqual([]);
    await postGraphQL(
      platform.gatewayUrl,
      `mutation($email: String!) { requestPasswordReset(email: $email) }`,
      {
        email: ada.email,
      },
    );

    const sent = await ok<{ sendMessage: { conversation: { id: string }; generation: { id: string } } }>(
      `mutation($input: SendMessageInput!) {
        sendMessage(input: $input) { conversation { id } generation { id } }
      }`,
      { input: { conversationId: null, content: 'Where do lighthouses keep their keepers?' } },
    );
    const conversationId = sent.sendMessage.conversation.id;
    await eventually(async () => {
      const { generation } = await ok<{ generation: { status: string } }>(
        `query($id: ID!) { generation(id: $id) { status } }`,
        { id: sent.sendMessage.generation.id },
      );
      expect(generation.status).toBe('COMPLETE');
    });
    await eventually(async () => {
      const { searchMessages } = await ok<{ searchMessages: unknown[] }>(
        `query { searchMessages(query: "lighthouses keepers") { score } }`,
      );
      expect(searchMessages.length).toBeGreaterThan(0);
    });

    await ok(`mutation($id: ID!) { renameConversation(id: $id, title: "Lighthouses") { id } }`, {
      id: conversationId,
    });
    await ok(`mutation { remember(text: "I like lighthouses.") { id } }`);
    await ok(
      `mutation { updateInstructions(input: { aboutMe: "A keeper.", howToAnswer: "Briefly." }) { aboutMe } }`,
    );
    await ok(`mutation { setRecallEnabled(enabled: false) }`);
    await ok(`mutation { createPreset(input: { name: "Terse", settings: { temperature: 0.2 } }) { id } }`);
    await ok(`mutation($id: ID!) { deleteConversation(id: $id) }`, { id: conversationId });

    expect(recorded.entries).toEqual([]);
  });
});
