import {
  DEFAULT_CONVERSATION_SETTINGS,
  settingsKey,
} from '../../../common/records/conversation-settings.record';
import { countQueries, type QueryCounter } from '../../../common/testing/query-counter';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';
import { startTestIndexer, type TestIndexer } from '../testing/indexer';
import { createDatabase } from '../../../common/stores/database';
import { silentLogger } from '../../../common/testing/logger';
import { openRepositories } from '../repositories';
import { conversationEntities } from '../store/entities';
import { conversationMigrations } from '../store/migrations';

const LIST_SELECTION = `edges { node {
  id title lastMessage { id content parent { id } siblings { id } conversation { id } }
} }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Conversation { id lastMessage { content } }
  ... on Message { id content conversation { title } parent { id } }
} }`;
const UPDATE = `mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { id content status } }`;

describe('query count', () => {
  let harness: Harness;
  let user: Client;
  let counter: QueryCounter;
  let testIndexer: TestIndexer;
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
    testIndexer = await startTestIndexer(harness);
    counter = countQueries(harness.env.CONVERSATION_DB_SCHEMA);
  });
  afterAll(async () => {
    counter?.stop();
    await testIndexer?.close();
    await harness?.stop();
  });

  const queriesFor = async (run: () => Promise<unknown>) => {
    counter.reset();
    await run();
    return counter.count;
  };

  describe('batched loading', () => {
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

  describe('writes', () => {
    it("saves a reply's checkpoints and its final state in one statement each, refusals too", async () => {
      const reply = await append(harness, user, {
        conversationId: conversationIds[0],
        role: 'ASSISTANT',
        content: '',
        status: 'STREAMING',
      });
      const chat = harness.chatFor(user.userId);
      const save = (input: Record<string, unknown>) => async () =>
        chat.request(UPDATE, { input: { id: reply.id, ...input } });
      expect(await queriesFor(save({ content: 'Once upon' }))).toBe(1);
      expect(
        await queriesFor(save({ content: 'Once upon a time.', status: 'COMPLETE', completionTokens: 5 })),
      ).toBe(1);
      // A prepared statement: planned once per connection, not once per save.
      expect(counter.unprepared).toBe(0);
      expect(await queriesFor(save({ promptTokens: 12 }))).toBe(1);
      expect(await queriesFor(save({ content: 'late checkpoint' }))).toBe(1);
      expect(counter.unprepared).toBe(0);
    });

    it('renames a conversation in one statement', async () => {
      const rename = async () =>
        dataOf(
          await harness
            .direct(user)
            .request(`mutation($id: ID!) { renameConversation(id: $id, title: "Renamed") { id title } }`, {
              id: conversationIds[1],
            }),
        );
      expect(await queriesFor(rename)).toBe(1);
    });

    it('changes settings and switches branch without reading the conversation again', async () => {
      const direct = harness.direct(user);
      const updateSettings = async () =>
        dataOf(
          await direct.request(
            `mutation($id: ID!) { updateConversationSettings(id: $id, settings: { temperature: 0.5 }) { id title } }`,
            { id: conversationIds[4] },
          ),
        );
      // BEGIN, the conversation locked, its update, COMMIT.
      expect(await queriesFor(updateSettings)).toBe(4);
      const switchBranch = async () =>
        dataOf(
          await direct.request(`mutation($id: ID!) { switchBranch(messageId: $id) { id title } }`, {
            id: messageIds[5],
          }),
        );
      // The message, then BEGIN, the conversation locked, its newest leaf, its update, COMMIT.
      expect(await queriesFor(switchBranch)).toBe(6);
    });
  });

  describe('search indexer rounds', () => {
    it('finds nothing due in one statement', async () => {
      await testIndexer.indexer.drain();
      expect(await queriesFor(() => testIndexer.indexer.runOnce())).toBe(1);
      expect(counter.unprepared).toBe(0);
    });

    it('applies due entries, the messages they name read with them, in four', async () => {
      await testIndexer.indexer.drain();
      await append(harness, user, { conversationId: conversationIds[2], content: 'indexed' });
      await append(harness, user, { conversationId: conversationIds[3], content: 'indexed too' });
      let applied = 0;
      // The peek, then the transaction: BEGIN, the claim (lock, entries and messages), COMMIT.
      expect(await queriesFor(async () => (applied = await testIndexer.indexer.runOnce()))).toBe(4);
      expect(applied).toBe(2);
      // The peek and the claim are prepared statements: only BEGIN and COMMIT are sent as text.
      expect(counter.unprepared).toBe(2);
    });
  });

  describe("a chat turn's reads and writes (what the send path waits on)", () => {
    // The selections chat's client makes (subgraphs/chat/clients/conversation.client.ts).
    const MESSAGE_FIELDS = `id role content status createdAt conversation { id title } parent { id }
      promptTokens completionTokens model`;
    const TURN_CONTEXT = `query($conversationId: ID, $leafId: ID, $historyLimit: Int!) {
      turnContext(conversationId: $conversationId, leafId: $leafId, historyLimit: $historyLimit) {
        conversationId settings { model } instructions { aboutMe } memories { id } recallEnabled
        history { ${MESSAGE_FIELDS} }
      }
    }`;
    // The selection chat's client makes (subgraphs/chat/clients/conversation.client.ts).
    const APPEND_TURN = `mutation($input: AppendTurnInput!) {
      appendTurn(input: $input) {
        userMessage { id status conversation { id title } parent { id } }
        reply { id status conversation { id title } parent { id } }
      }
    }`;
    type Appended = {
      appendTurn: { userMessage: { id: string; conversation: { id: string } }; reply: { id: string } };
    };

    it('reads a turn’s context in one statement, whatever it holds and however short its history is cut', async () => {
      const chat = harness.chatFor(user.userId);
      type History = { id: string; parent: { id: string } | null }[];
      let history: History = [];
      const read = (variables: Record<string, unknown>) => async () => {
        const answer = await chat.request<{ turnContext: { history: History } }>(TURN_CONTEXT, {
          historyLimit: 50,
          ...variables,
        });
        history = dataOf(answer).turnContext.history;
      };
      expect(await queriesFor(read({}))).toBe(1);
      expect(history).toEqual([]);
      expect(await queriesFor(read({ conversationId: conversationIds[0] }))).toBe(1);
      expect(await queriesFor(read({ leafId: messageIds[0] }))).toBe(1);
      expect(history.map((message) => message.parent)).toEqual([null, { id: history[0].id }]);
      // Cut short of the root, its first message's parent is still answered.
      const [question] = history;
      expect(await queriesFor(read({ leafId: messageIds[0], historyLimit: 1 }))).toBe(1);
      expect(history).toEqual([expect.objectContaining({ id: messageIds[0], parent: { id: question.id } })]);
    });

    it('stores a first message, its conversation and the reply in one statement', async () => {
      const chat = harness.chatFor(user.userId);
      const count = await queriesFor(async () => {
        dataOf(
          await chat.request<Appended>(APPEND_TURN, {
            input: { conversationId: null, content: 'Hello', replyModel: 'offline/echo' },
          }),
        );
      });
      expect(count).toBe(1);
      expect(counter.unprepared).toBe(0);
    });

    it('stores a first message with its context in two statements, read and written side by side', async () => {
      const chat = harness.chatFor(user.userId);
      const count = await queriesFor(async () => {
        dataOf(
          await chat.request(
            `mutation($input: AppendTurnInput!) {
              appendTurn(input: $input, withContext: true) {
                userMessage { id } reply { id } context { settings { model } memories { id } recallEnabled }
              }
            }`,
            { input: { content: 'Hello', replyModel: 'offline/echo' } },
          ),
        );
      });
      expect(count).toBe(2);
      expect(counter.unprepared).toBe(0);
    });

    it("checks a recall's hits against their messages in one prepared statement, however many", async () => {
      const orm = await createDatabase({
        url: harness.env.DATABASE_URL,
        schema: harness.env.CONVERSATION_DB_SCHEMA,
        entities: conversationEntities,
        migrations: conversationMigrations,
        logger: silentLogger(),
      });
      try {
        const { messages } = openRepositories(orm);
        const check = (ids: string[]) => async () =>
          expect(await messages.findByIdsWithConversations(ids, user.userId)).toHaveLength(ids.length);
        expect(await queriesFor(check(messageIds.slice(0, 1)))).toBe(1);
        expect(await queriesFor(check(messageIds.slice(0, 5)))).toBe(1);
        expect(counter.unprepared).toBe(0);
      } finally {
        await orm.close();
      }
    });

    it('stores a follow-up and reads its context, as chat selects it, in that transaction and one statement after', async () => {
      const chat = harness.chatFor(user.userId);
      const count = await queriesFor(async () => {
        dataOf(
          await chat.request(
            `mutation($input: AppendTurnInput!, $expectedSettings: String) {
              appendTurn(input: $input, withContext: true, expectedSettings: $expectedSettings, historyLimit: 50) {
                userMessage { ${MESSAGE_FIELDS} } reply { ${MESSAGE_FIELDS} }
                context { conversationId settings { model } instructions { aboutMe } memories { id } recallEnabled
                  history { ${MESSAGE_FIELDS} } }
              }
            }`,
            {
              input: { conversationId: conversationIds[2], content: 'And then?', replyModel: 'offline/echo' },
              expectedSettings: settingsKey(DEFAULT_CONVERSATION_SETTINGS),
            },
          ),
        );
      });
      // BEGIN, the conversation locked (its settings compared), the parent, the write, COMMIT; the context.
      expect(count).toBe(6);
      // The parent, the write and the context are prepared statements; BEGIN, the lock and COMMIT are not.
      expect(counter.unprepared).toBe(3);
    });

    it('stores a turn in an existing conversation in one transaction of three statements', async () => {
      const chat = harness.chatFor(user.userId);
      const count = await queriesFor(async () => {
        dataOf(
          await chat.request<Appended>(APPEND_TURN, {
            input: { conversationId: conversationIds[1], content: 'Again', replyModel: 'offline/echo' },
          }),
        );
      });
      // BEGIN, the conversation locked, the parent and its versions, the write, COMMIT.
      expect(count).toBe(5);
    });
  });
});
