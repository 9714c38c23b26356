import { countQueries, type QueryCounter } from '../../../common/testing/query-counter';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

const LIST_SELECTION = `edges { node {
  id title lastMessage { id content parent { id } siblings { id } conversation { id } }
} }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Conversation { id lastMessage { content } }
  ... on Message { id content conversation { title } parent { id } }
} }`;

describe('batched loading', () => {
  let harness: Harness;
  let user: Client;
  let counter: QueryCounter;
  const conversationIds: string[] = [];
  const messageIds: string[] = [];

  beforeAll(async () => {
    // The indexer queries in the background; nothing else may while queries are counted.
    harness = await startConversationHarness('query count', { env: { SEARCH_INDEXER_ENABLED: 'false' } });
    user = await harness.newUser();
    for (let i = 0; i < 50; i++) {
      const question = await append(harness, user, { content: `question ${i}` });
      const answer = await append(harness, user, {
        conversationId: question.conversation.id,
        role: 'ASSISTANT',
        content: `answer ${i}`,
      });
      conversationIds.push(question.conversation.id);
      messageIds.push(answer.id);
    }
    counter = countQueries(harness.env.CONVERSATION_DB_SCHEMA);
  });
  afterAll(async () => {
    counter?.stop();
    await harness?.stop();
  });

  const queriesFor = async (run: () => Promise<unknown>) => {
    counter.reset();
    await run();
    return counter.count;
  };

  it('lists 50 conversations with their last message in as many queries as it lists 5', async () => {
    const list = (first: number) => async () => {
      const response = await harness.conversationsOf<{ edges: unknown[] }>(user, LIST_SELECTION, { first });
      expect(dataOf(response).edges).toHaveLength(first);
    };
    const five = await queriesFor(list(5));
    const fifty = await queriesFor(list(50));
    expect(fifty).toBe(five);
    // The page, the last messages, their parents and their siblings: one query each.
    expect(fifty).toBeLessThanOrEqual(4);
  });

  it('resolves 50 conversations and 50 messages through _entities in a constant number of queries', async () => {
    const representations = (count: number) => [
      ...conversationIds.slice(0, count).map((id) => ({ __typename: 'Conversation', id })),
      ...messageIds.slice(0, count).map((id) => ({ __typename: 'Message', id })),
    ];
    const resolve = (count: number) => async () => {
      // Entity fetches are what the gateway sends the subgraph, signed for the user.
      const response = await harness.direct(user).request<{ _entities: unknown[] }>(ENTITIES, {
        r: representations(count),
      });
      expect(dataOf(response)._entities.filter(Boolean)).toHaveLength(count * 2);
    };
    const few = await queriesFor(resolve(3));
    const many = await queriesFor(resolve(50));
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(4);
  });
});
