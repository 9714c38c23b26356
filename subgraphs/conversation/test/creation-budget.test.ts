import type { RunningSubgraph } from '../../../common/server/subgraph-server';
import { type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { signedHeaders } from '../../../common/testing/identity';
import { silentLogger } from '../../../common/testing/logger';
import { startConversationSubgraph } from '../app';
import { loadConversationConfig } from '../config';
import { type Harness, startConversationHarness } from '../testing/harness';

/*
 * One user creating conversations as fast as they can: one mutation with many aliases, first
 * messages through chat, and another replica of the subgraph. All draw on one budget per user,
 * counted in Redis; over it, RATE_LIMITED with retryAfter. Other users are not affected.
 */

const BUDGET = 5;
const CREATE_MANY = (count: number) =>
  `mutation { ${Array.from({ length: count }, (_, i) => `c${i}: createConversation(title: "Spam ${i}") { id }`).join(' ')} }`;
const SEND = 'mutation($c: String!) { sendMessage(input: { content: $c }) { conversation { id } } }';

const codes = (response: GraphQLResponse<unknown>) => (response.errors ?? []).map((e) => e.extensions?.code);

describe('the per-user budget of new conversations', () => {
  let harness: Harness;
  let replica: RunningSubgraph;

  beforeAll(async () => {
    harness = await startConversationHarness('creation budget', {
      env: { CONVERSATION_CREATION_BUDGET: `${BUDGET}/600` },
    });
    replica = await startConversationSubgraph(
      loadConversationConfig({ ...harness.env, SEARCH_INDEXER_ENABLED: 'false' }),
      silentLogger(),
    );
  });
  afterAll(async () => {
    await replica?.stop();
    await harness?.stop();
  });

  it('creates up to the budget from one aliased mutation, then refuses with retryAfter', async () => {
    const user = await harness.newUser();
    const response = await user.request(CREATE_MANY(BUDGET + 5));
    // Mutation fields run in order and are non-null: the first refusal ends the operation.
    expect(codes(response)).toEqual(['RATE_LIMITED']);
    const list = await harness.conversationsOf<{ edges: unknown[] }>(user, 'edges { node { id } }', {
      first: 50,
    });
    expect(list.data?.edges).toHaveLength(BUDGET);
    const retryAfter = response.errors?.[0].extensions?.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
  });

  it('counts a conversation started by a first message, refused through chat with the same code', async () => {
    const user = await harness.newUser();
    await user.request(CREATE_MANY(BUDGET));
    const sent = await user.request(SEND, { c: 'Start one more' });
    expect(codes(sent)).toEqual(['RATE_LIMITED']);
    expect(sent.errors?.[0].extensions?.retryAfter).toEqual(expect.any(Number));
  });

  it('holds across replicas: another one refuses the same user', async () => {
    const user = await harness.newUser();
    await user.request(CREATE_MANY(BUDGET));
    const query = 'mutation { createConversation(title: "Elsewhere") { id } }';
    const elsewhere = await postGraphQL(
      replica.url,
      query,
      {},
      signedHeaders(user.userId, { audience: 'conversation', query, variables: {} }),
    );
    expect(codes(elsewhere)).toEqual(['RATE_LIMITED']);
  });

  it('leaves other users their own budget', async () => {
    const spender = await harness.newUser();
    await spender.request(CREATE_MANY(BUDGET + 1));
    const other = await harness.newUser();
    const response = await other.request(CREATE_MANY(2));
    expect(response.errors).toBeUndefined();
  });
});
