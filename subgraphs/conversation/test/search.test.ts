import { ChromaClient } from 'chromadb';
import { type ChromaServer, startChromaServer } from '../../../common/testing/chroma';
import { errorCodes, type GraphQLResponse } from '../../../common/testing/graphql-client';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';
import { type FakeGemini, startFakeGemini } from '../testing/fake-gemini';
import { eventually } from '../../../common/testing/wait';

const SEARCH = `query($query: String!, $conversationId: ID, $first: Int!) {
  searchMessages(query: $query, conversationId: $conversationId, first: $first) {
    score message { id content } conversation { id }
  }
}`;
const RECALL = `query($query: String!, $exclude: ID) {
  recallMessages(query: $query, excludeConversationId: $exclude, first: 3) { score message { id content } }
}`;

const APPEND_TURN = `mutation($input: AppendTurnInput!, $recall: TurnRecallInput) {
  appendTurn(input: $input, recall: $recall) {
    userMessage { id conversation { id } } reply { id status }
    recalled { score message { id role content conversation { id title } } }
  }
}`;

interface AppendedTurn {
  userMessage: { id: string; conversation: { id: string } };
  reply: { id: string; status: string };
  recalled:
    | {
        score: number;
        message: { id: string; role: string; content: string; conversation: { id: string; title: string } };
      }[]
    | null;
}

/** A turn written in `conversationId` as chat writes one, asking for `recall` beside the write. */
const appendTurn = (chat: Client, conversationId: string, content: string, recall: object | null) =>
  chat.request<{ appendTurn: AppendedTurn }>(APPEND_TURN, {
    input: { conversationId, parentId: null, content, replyModel: 'offline/echo' },
    recall,
  });

/** Waits until recall by `query` finds `messageId`: the indexer works in the background. */
const recallUntilFound = (chat: Client, query: string, messageId: string) =>
  eventually(
    async () => {
      const response = await chat.request<{ recallMessages: { message: { id: string } }[] }>(RECALL, {
        query,
      });
      expect(dataOf(response).recallMessages.map((hit) => hit.message.id)).toContain(messageId);
    },
    { timeoutMs: 20_000 },
  );

interface Hit {
  score: number;
  message: { id: string; content: string };
  conversation: { id: string };
}

const search = (user: Client, query: string, variables: Record<string, unknown> = {}) =>
  user.request<{ searchMessages: Hit[] }>(SEARCH, { query, first: 3, ...variables });

/**
 * Polls the search until `messageId` is among the hits: the indexer works in the background, and
 * a Chroma just started (or a collection just created) may refuse a query or two meanwhile.
 */
const searchUntilFound = (
  user: Client,
  query: string,
  messageId: string,
  variables: Record<string, unknown> = {},
) =>
  eventually(
    async () => {
      const response = await search(user, query, variables);
      expect(errorCodes(response)).toEqual([]);
      const hits = dataOf(response).searchMessages;
      expect(hits.map((hit) => hit.message.id)).toContain(messageId);
      return hits;
    },
    { timeoutMs: 20_000 },
  );

const chromaClient = (url: string) => {
  const { hostname, port } = new URL(url);
  return new ChromaClient({ host: hostname, port: Number(port) });
};

/** The ids among `ids` that the collection holds. */
async function indexedIds(chromaUrl: string, collection: string, ids: string[]): Promise<string[]> {
  const handle = await chromaClient(chromaUrl).getCollection({ name: collection });
  return (await handle.get({ ids })).ids;
}

describe('semantic search', () => {
  describe('with the offline embedding', () => {
    let harness: Harness;
    let alice: Client;
    let bob: Client;
    let collection: string;

    beforeAll(async () => {
      harness = await startConversationHarness('search');
      collection = `${harness.env.CHROMA_COLLECTION_PREFIX}messages-wink-sg-100d-sif-100`;
      alice = await harness.newUser();
      bob = await harness.newUser();
    });
    afterAll(() => harness?.stop());

    it("finds a message by meaning, and never another user's, even with the same words", async () => {
      const alices = await append(harness, alice, { content: 'My sourdough bread never rises in the oven' });
      const bobs = await append(harness, bob, { content: 'My sourdough bread never rises in the oven' });
      await append(harness, alice, { content: 'What is the capital of Mongolia?' });
      const hits = await searchUntilFound(alice, 'why is my loaf of homemade bread flat', alices.id);
      expect(hits[0].message.id).toBe(alices.id);
      expect(hits[0].conversation.id).toBe(alices.conversation.id);
      expect(hits[0].score).toBeGreaterThan(0.5);
      expect(hits.map((hit) => hit.message.id)).not.toContain(bobs.id);
      const bobsHits = await searchUntilFound(bob, 'sourdough bread', bobs.id);
      expect(bobsHits.map((hit) => hit.message.id)).not.toContain(alices.id);
    });

    it('searches within one conversation when asked, and only one of yours', async () => {
      const inside = await append(harness, alice, { content: 'Booking a train from Vienna to Prague' });
      const outside = await append(harness, alice, { content: 'Booking a train from Vienna to Budapest' });
      const hits = await searchUntilFound(alice, 'rail journey to Prague', inside.id, {
        conversationId: inside.conversation.id,
      });
      expect(hits.map((hit) => hit.message.id)).toEqual([inside.id]);
      expect(outside.id).not.toBe(inside.id);
      const foreign = await search(bob, 'train', { conversationId: inside.conversation.id });
      expect(errorCodes(foreign)).toEqual(['NOT_FOUND']);
    });

    it('recalls from other conversations only, for the chat service', async () => {
      const here = await append(harness, alice, { content: 'I am allergic to peanuts and shellfish' });
      const there = await append(harness, alice, {
        content: 'I am allergic to peanuts and shellfish, remember that',
      });
      const chat = harness.chatFor(alice.userId);
      const hits = await eventually(
        async () => {
          const response = await chat.request<{ recallMessages: { message: { id: string } }[] }>(RECALL, {
            query: 'food allergies',
            exclude: here.conversation.id,
          });
          const ids = dataOf(response).recallMessages.map((hit) => hit.message.id);
          expect(ids).toContain(there.id);
          return ids;
        },
        { timeoutMs: 20_000 },
      );
      expect(hits).not.toContain(here.id);
    });

    it('recalls nothing for a user who turned recall off, though their messages match', async () => {
      const carol = await harness.newUser();
      const there = await append(harness, carol, { content: 'My bicycle has a blue frame and red wheels' });
      const chat = harness.chatFor(carol.userId);
      const recalled = async () => {
        const response = await chat.request<{ recallMessages: { message: { id: string } }[] }>(RECALL, {
          query: 'what colour is my bicycle frame',
        });
        expect(errorCodes(response)).toEqual([]);
        return dataOf(response).recallMessages.map((hit) => hit.message.id);
      };
      await eventually(async () => expect(await recalled()).toContain(there.id), { timeoutMs: 20_000 });
      await harness.direct(carol).request(`mutation { setRecallEnabled(enabled: false) }`);
      expect(await recalled()).toEqual([]);
      await harness.direct(carol).request(`mutation { setRecallEnabled(enabled: true) }`);
      expect(await recalled()).toContain(there.id);
    });

    it("recalls beside a turn's write, answered in the same request, from the owner's other conversations only", async () => {
      const dora = await harness.newUser();
      const chat = harness.chatFor(dora.userId);
      const there = await append(harness, dora, { content: 'My cat Miso only eats salmon for dinner' });
      const here = await append(harness, dora, {
        content: 'My cat Miso only eats salmon, even at breakfast',
      });
      await recallUntilFound(chat, 'what does my cat eat', there.id);

      const response = await appendTurn(chat, here.conversation.id, 'What does my cat Miso eat?', {
        first: 3,
        budgetMs: 5_000,
      });
      const turn = dataOf(response).appendTurn;
      expect(turn.reply.status).toBe('STREAMING');
      const recalled = (turn.recalled ?? []).map((hit) => hit.message.id);
      expect(recalled).toContain(there.id);
      // What a prompt quotes: the message and the conversation it is from.
      expect(turn.recalled?.find((hit) => hit.message.id === there.id)?.message).toEqual({
        id: there.id,
        role: 'USER',
        content: 'My cat Miso only eats salmon for dinner',
        conversation: { id: there.conversation.id, title: expect.any(String) },
      });
      // Never the conversation the turn is in, its earlier messages or the message just written.
      expect(recalled).not.toContain(here.id);
      expect(recalled).not.toContain(turn.userMessage.id);

      // A message longer than a search query may be is recalled by its beginning.
      const long = await appendTurn(
        chat,
        here.conversation.id,
        `What does my cat Miso eat? ${'Tell me. '.repeat(150)}`,
        {
          first: 3,
          budgetMs: 5_000,
        },
      );
      expect(errorCodes(long)).toEqual([]);
      expect((dataOf(long).appendTurn.recalled ?? []).map((hit) => hit.message.id)).toContain(there.id);

      // Not asked: no search, and null says so.
      const unasked = await appendTurn(chat, here.conversation.id, 'And Miso at lunch?', null);
      expect(dataOf(unasked).appendTurn.recalled).toBeNull();

      // The owner's switch is kept here: off, the turn is written and recalls nothing.
      await harness.direct(dora).request(`mutation { setRecallEnabled(enabled: false) }`);
      const switchedOff = await appendTurn(chat, here.conversation.id, 'What does my cat Miso eat?', {
        first: 3,
        budgetMs: 5_000,
      });
      expect(dataOf(switchedOff).appendTurn.recalled).toEqual([]);
    });

    it("recalls beside a first message's write by the switch its context reads, and nothing once it is off", async () => {
      const fern = await harness.newUser();
      const chat = harness.chatFor(fern.userId);
      const there = await append(harness, fern, { content: 'Our dog Pepper loves long walks on the beach' });
      await recallUntilFound(chat, 'what does my dog love', there.id);
      const firstTurn = async () => {
        const response = await chat.request<{
          appendTurn: AppendedTurn & { context: { recallEnabled: boolean } };
        }>(
          `mutation($input: AppendTurnInput!, $recall: TurnRecallInput) {
            appendTurn(input: $input, withContext: true, recall: $recall) {
              userMessage { id conversation { id } } reply { id status } recalled { score message { id } }
              context { recallEnabled }
            }
          }`,
          {
            input: { content: 'What does my dog Pepper love?', replyModel: 'offline/echo' },
            recall: { first: 3, budgetMs: 5_000 },
          },
        );
        return dataOf(response).appendTurn;
      };
      const on = await firstTurn();
      expect(on.context.recallEnabled).toBe(true);
      expect((on.recalled ?? []).map((hit) => hit.message.id)).toContain(there.id);

      await harness.direct(fern).request(`mutation { setRecallEnabled(enabled: false) }`);
      const off = await firstTurn();
      expect(off.context.recallEnabled).toBe(false);
      expect(off.recalled).toEqual([]);
    });

    it("refuses a turn's recall it cannot run, naming the field, and writes nothing", async () => {
      const emil = await harness.newUser();
      const chat = harness.chatFor(emil.userId);
      const here = await append(harness, emil, { content: 'Planning a garden of herbs' });
      const leaf = async () =>
        dataOf(
          await chat.request<{ turnContext: { history: { id: string }[] } }>(
            `query($id: ID) { turnContext(conversationId: $id, historyLimit: 50) { history { id } } }`,
            { id: here.conversation.id },
          ),
        ).turnContext.history.map((message) => message.id);
      const before = await leaf();
      for (const [recall, field] of [
        [{ first: 3, budgetMs: 0 }, 'recall.budgetMs'],
        [{ first: 3, budgetMs: 60_000 }, 'recall.budgetMs'],
        [{ first: 0, budgetMs: 300 }, 'recall.first'],
        [{ first: 1_000, budgetMs: 300 }, 'recall.first'],
      ] as const) {
        const response = await appendTurn(chat, here.conversation.id, 'Which herbs grow in shade?', recall);
        expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      }
      expect(await leaf()).toEqual(before);
    });

    it('does not index a message until it is final', async () => {
      const reply = await append(harness, alice, {
        role: 'ASSISTANT',
        content: 'Penguins huddle',
        status: 'STREAMING',
      });
      await harness
        .chatFor(alice.userId)
        .request(`mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { id } }`, {
          input: {
            id: reply.id,
            content: 'Penguins huddle together to keep warm in Antarctica',
            status: 'COMPLETE',
          },
        });
      const hits = await searchUntilFound(alice, 'how do penguins survive the cold', reply.id);
      expect(hits[0].message.content).toBe('Penguins huddle together to keep warm in Antarctica');
    });

    it('removes the vectors of a deleted conversation from Chroma', async () => {
      const first = await append(harness, alice, { content: 'Volcano eruptions in Iceland' });
      const second = await append(harness, alice, {
        conversationId: first.conversation.id,
        content: 'Lava flows',
      });
      await searchUntilFound(alice, 'volcanic activity', first.id);
      await eventually(
        async () =>
          expect(await indexedIds(harness.env.CHROMA_URL, collection, [first.id, second.id])).toHaveLength(2),
        { timeoutMs: 20_000 },
      );
      await alice.request(`mutation($id: ID!) { deleteConversation(id: $id) }`, {
        id: first.conversation.id,
      });
      await eventually(
        async () =>
          expect(await indexedIds(harness.env.CHROMA_URL, collection, [first.id, second.id])).toHaveLength(0),
        { timeoutMs: 20_000 },
      );
      const hits = dataOf(await search(alice, 'Volcano eruptions in Iceland')).searchMessages;
      expect(hits.map((hit) => hit.message.id)).not.toContain(first.id);
    });

    it.each([
      ['an empty query', { query: '  ' }, 'query'],
      ['a query over 1000 characters', { query: 'x'.repeat(1001) }, 'query'],
      ['a page size of 0', { query: 'x', first: 0 }, 'first'],
    ])('refuses %s, naming the field', async (_case, variables, field) => {
      const response = await alice.request(SEARCH, { first: 3, ...variables });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    });

    it('finds nothing for a query of words it does not know', async () => {
      expect(dataOf(await search(alice, 'qwzxv plorkth'))).toEqual({ searchMessages: [] });
    });
  });

  describe('while Chroma is down', () => {
    let chroma: ChromaServer;
    let harness: Harness;
    let user: Client;

    beforeAll(async () => {
      chroma = await startChromaServer();
      harness = await startConversationHarness('search chroma down', {
        env: { CHROMA_URL: chroma.url, SEARCH_TIMEOUT_MS: '2000' },
      });
      user = await harness.newUser();
    });
    afterAll(async () => {
      await harness?.stop();
      await chroma?.dispose();
    });

    it('accepts writes, answers UPSTREAM_UNAVAILABLE, and indexes everything once Chroma is back', async () => {
      const before = await append(harness, user, { content: 'Sailing across the Atlantic ocean' });
      await searchUntilFound(user, 'crossing the sea by boat', before.id);

      await chroma.stop();
      const written = [];
      for (const content of [
        'Growing tomatoes on a balcony',
        'Learning to play the cello',
        'Fixing a flat bicycle tyre',
      ]) {
        written.push(await append(harness, user, { content }));
      }
      const unavailable: GraphQLResponse<unknown> = await search(user, 'vegetable garden');
      expect(unavailable.errors?.[0].extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        dependency: 'chroma',
      });

      await chroma.start();
      await searchUntilFound(user, 'vegetable garden in a small apartment', written[0].id);
      await searchUntilFound(user, 'string instrument lessons', written[1].id);
      await searchUntilFound(user, 'repairing a punctured bike wheel', written[2].id);
      await searchUntilFound(user, 'crossing the sea by boat', before.id);
    });
  });

  describe('while Chroma does not answer', () => {
    let chroma: ChromaServer;
    let harness: Harness;

    beforeAll(async () => {
      chroma = await startChromaServer();
      // A search would wait a minute for a frozen Chroma: longer than this test is given.
      harness = await startConversationHarness('search chroma frozen', {
        env: { CHROMA_URL: chroma.url, SEARCH_TIMEOUT_MS: '60000' },
      });
    });
    afterAll(async () => {
      chroma?.thaw();
      await harness?.stop();
      await chroma?.dispose();
    });

    it("answers a turn's write within its recall's budget, without recall, and recalls again once Chroma is back", async () => {
      const user = await harness.newUser();
      const chat = harness.chatFor(user.userId);
      const there = await append(harness, user, { content: 'Our boat is moored in the harbour of Split' });
      const here = await append(harness, user, { content: 'Packing for a sailing week' });
      await recallUntilFound(chat, 'where is our boat moored', there.id);

      chroma.freeze();
      const response = await appendTurn(chat, here.conversation.id, 'Where is our boat moored?', {
        first: 3,
        budgetMs: 300,
      });
      chroma.thaw();
      expect(errorCodes(response)).toEqual([]);
      const turn = dataOf(response).appendTurn;
      expect(turn.recalled).toEqual([]);
      expect(turn.reply.status).toBe('STREAMING');

      const next = await appendTurn(chat, here.conversation.id, 'Where is our boat moored?', {
        first: 3,
        budgetMs: 5_000,
      });
      expect((dataOf(next).appendTurn.recalled ?? []).map((hit) => hit.message.id)).toContain(there.id);
    });

    it('writes a turn without recall while Chroma is down', async () => {
      const user = await harness.newUser();
      const here = await append(harness, user, { content: 'Learning the names of knots' });
      await chroma.stop();
      try {
        const response = await appendTurn(
          harness.chatFor(user.userId),
          here.conversation.id,
          'Which knot holds best?',
          {
            first: 3,
            budgetMs: 5_000,
          },
        );
        expect(errorCodes(response)).toEqual([]);
        expect(dataOf(response).appendTurn).toMatchObject({ recalled: [], reply: { status: 'STREAMING' } });
      } finally {
        await chroma.start();
      }
    });
  });

  describe('with Gemini embeddings', () => {
    let gemini: FakeGemini;
    let harness: Harness;
    let user: Client;

    beforeAll(async () => {
      gemini = await startFakeGemini(3072);
      // Only this subgraph is pointed at the fake Gemini (chat reads GEMINI_API_KEY too). Rounds
      // start only when a write wakes the indexer, two seconds later, so the rounds can be counted.
      harness = await startConversationHarness('search gemini', {
        route: 'subgraph',
        env: {
          GEMINI_API_KEY: 'test-gemini-key',
          GEMINI_BASE_URL: gemini.baseUrl,
          SEARCH_INDEXER_POLL_MS: '600000',
          SEARCH_INDEXER_WAKE_DELAY_MS: '2000',
        },
      });
      user = await harness.newUser();
    });
    afterAll(async () => {
      await harness?.stop();
      await gemini?.close();
    });

    it('embeds documents and queries through the Gemini API, in a collection of its own', async () => {
      const message = await append(harness, user, { content: 'Kubernetes pods keep restarting' });
      const hits = await searchUntilFound(user, 'kubernetes pods restarting', message.id);
      expect(hits[0].message.id).toBe(message.id);
      expect(gemini.requests.length).toBeGreaterThanOrEqual(2);
      for (const request of gemini.requests) {
        expect(request.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
        expect(request.apiKey).toBe('test-gemini-key');
      }
      expect(
        gemini.requests.find((r) => r.texts.includes('Kubernetes pods keep restarting'))?.taskTypes,
      ).toEqual(['RETRIEVAL_DOCUMENT']);
      expect(gemini.requests.find((r) => r.texts.includes('kubernetes pods restarting'))?.taskTypes).toEqual([
        'RETRIEVAL_QUERY',
      ]);
      const name = `${harness.env.CHROMA_COLLECTION_PREFIX}messages-gemini-gemini-embedding-001-3072`;
      expect(await indexedIds(harness.env.CHROMA_URL, name, [message.id])).toEqual([message.id]);
    });

    it('indexes the messages written in the same moment in one round: one embedding call for them all', async () => {
      const contents = ['Postgres vacuum', 'Redis eviction', 'Chroma shards', 'Gateway retries'].map(
        (topic) => `${topic} questions from the same moment`,
      );
      const messages = await Promise.all(contents.map((content) => append(harness, user, { content })));
      await searchUntilFound(user, 'Gateway retries questions', messages[3].id);
      const batches = gemini.requests.filter((r) => r.texts.some((text) => contents.includes(text)));
      expect(batches).toHaveLength(1);
      expect([...batches[0].texts].sort()).toEqual([...contents].sort());
    });

    it('answers UPSTREAM_UNAVAILABLE when Gemini cannot be reached', async () => {
      await gemini.close();
      const response = await search(user, 'anything');
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        dependency: 'embedding model',
      });
    });
  });
});
