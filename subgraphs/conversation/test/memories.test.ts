import { Client as PgClient } from 'pg';
import { errorCodes } from '../../../common/testing/graphql-client';
import {
  DEFAULT_CONVERSATION_SETTINGS,
  settingsKey,
} from '../../../common/records/conversation-settings.record';
import { withSchemaChangeLock } from '../../../common/stores/database';
import { MAX_MEMORIES } from '../repositories/memory.repository';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

/*
 * Memory under the user's control (issue 15, item 5): what a user asks the assistant to remember,
 * their switch for recall, and the one internal read chat builds a prompt from.
 */

interface Memory {
  id: string;
  text: string;
  createdAt: string;
}

describe('memories', () => {
  let harness: Harness;
  let alice: Client;
  let bob: Client;

  const remember = (user: Client, text: string) =>
    user.request<{ remember: Memory }>(
      `mutation($text: String!) { remember(text: $text) { id text createdAt } }`,
      {
        text,
      },
    );
  const forget = (user: Client, id: string) =>
    user.request<{ forgetMemory: string }>(`mutation($id: ID!) { forgetMemory(id: $id) }`, { id });
  const memories = async (user: Client) =>
    dataOf(await user.request<{ me: { memories: Memory[] } }>(`{ me { memories { id text createdAt } } }`)).me
      .memories;

  beforeAll(async () => {
    harness = await startConversationHarness('conversation_memories');
    alice = await harness.newUser();
    bob = await harness.newUser();
  });
  afterAll(() => harness?.stop());

  it("remembers trimmed text and lists the user's own memories, newest first", async () => {
    const first = dataOf(await remember(alice, '  I am vegetarian.  ')).remember;
    const second = dataOf(await remember(alice, 'My cat is called Miso.')).remember;
    expect(first.text).toBe('I am vegetarian.');
    expect((await memories(alice)).map((m) => m.text)).toEqual([
      'My cat is called Miso.',
      'I am vegetarian.',
    ]);
    expect(await memories(bob)).toEqual([]);
    expect((await memories(alice)).map((m) => m.id)).toEqual([second.id, first.id]);
  });

  it("forgets a memory; another user's id is as missing as an unknown one", async () => {
    const { id } = dataOf(await remember(alice, 'Forget me.')).remember;
    expect(errorCodes(await forget(bob, id))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await forget(alice, '00000000-0000-4000-8000-000000000000'))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await forget(alice, 'not-an-id'))).toEqual(['NOT_FOUND']);
    expect((await memories(alice)).map((m) => m.id)).toContain(id);
    expect(dataOf(await forget(alice, id))).toEqual({ forgetMemory: id });
    expect((await memories(alice)).map((m) => m.id)).not.toContain(id);
    expect(errorCodes(await forget(alice, id))).toEqual(['NOT_FOUND']);
  });

  it('refuses empty or too long text, and more than the limit, with a coded error naming the field', async () => {
    const user = await harness.newUser();
    for (const text of ['   ', 'x'.repeat(2_001)]) {
      const refused = await remember(user, text);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0].extensions?.field).toBe('text');
    }
    expect(dataOf(await remember(user, 'x'.repeat(2_000))).remember.text).toHaveLength(2_000);
    for (let i = 1; i < MAX_MEMORIES - 2; i += 10) {
      const batch = Array.from({ length: Math.min(10, MAX_MEMORIES - 2 - i) }, (_, j) => `memory ${i + j}`);
      const stored = await Promise.all(batch.map((text) => remember(user, text)));
      expect(stored.flatMap(errorCodes)).toEqual([]);
    }
    // The last two places taken by three at once: the count is checked under a per-user lock.
    const results = await Promise.all(['a', 'b', 'c'].map((text) => remember(user, text)));
    expect(results.map(errorCodes).sort()).toEqual([[], [], ['BAD_USER_INPUT']]);
    const over = results.find((r) => errorCodes(r).length > 0);
    expect(over?.errors?.[0].extensions?.field).toBe('text');
    expect(over?.errors?.[0].message).toContain(`at most ${MAX_MEMORIES}`);
    expect(await memories(user)).toHaveLength(MAX_MEMORIES);
  });

  it('keeps a per-user recall switch, on by default', async () => {
    const recall = async (user: Client) =>
      dataOf(await user.request<{ me: { recallEnabled: boolean } }>(`{ me { recallEnabled } }`)).me
        .recallEnabled;
    expect(await recall(alice)).toBe(true);
    expect(dataOf(await alice.request(`mutation { setRecallEnabled(enabled: false) }`))).toEqual({
      setRecallEnabled: false,
    });
    expect(await recall(alice)).toBe(false);
    expect(await recall(bob)).toBe(true);
    await alice.request(`mutation { setRecallEnabled(enabled: true) }`);
    expect(await recall(alice)).toBe(true);
  });

  it('refuses a caller who is not signed in', async () => {
    expect(errorCodes(await harness.anonymous.request(`mutation { remember(text: "x") { id } }`))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});

describe("a turn's internal operations: turnContext and appendTurn", () => {
  let harness: Harness;

  const TURN = `query($conversationId: ID, $leafId: ID, $historyLimit: Int!) {
    turnContext(conversationId: $conversationId, leafId: $leafId, historyLimit: $historyLimit) {
      conversationId settings { model systemPrompt instructionsEnabled recallEnabled }
      instructions { aboutMe howToAnswer } memories { id text } recallEnabled history { id content }
    }
  }`;
  interface Turn {
    conversationId: string | null;
    settings: { model: string | null; systemPrompt: string | null; instructionsEnabled: boolean };
    instructions: { aboutMe: string; howToAnswer: string } | null;
    memories: { id: string; text: string }[];
    recallEnabled: boolean;
    history: { id: string; content: string }[];
  }
  const turn = (userId: string, variables: Record<string, unknown>) =>
    harness.chatFor(userId).request<{ turnContext: Turn }>(TURN, { historyLimit: 50, ...variables });

  beforeAll(async () => {
    harness = await startConversationHarness('conversation_turn_context', { route: 'subgraph' });
  });
  afterAll(() => harness?.stop());

  it('reads the settings, instructions, memories, recall switch and history of a turn in one request', async () => {
    const user = await harness.newUser();
    const direct = harness.direct(user);
    await direct.request(`mutation { updateInstructions(input: { aboutMe: "A chef." }) { aboutMe } }`);
    await direct.request(`mutation { remember(text: "Likes tea.") { id } }`);
    await direct.request(`mutation { setRecallEnabled(enabled: false) }`);

    const fresh = dataOf(await turn(user.userId, {})).turnContext;
    expect(fresh).toMatchObject({
      conversationId: null,
      settings: { model: null, systemPrompt: null, instructionsEnabled: true },
      instructions: { aboutMe: 'A chef.', howToAnswer: '' },
      memories: [{ text: 'Likes tea.' }],
      recallEnabled: false,
      history: [],
    });

    const first = await append(harness, user, { content: 'Hello' });
    const conversationId = first.conversation.id;
    const reply = await append(harness, user, { conversationId, role: 'ASSISTANT', content: 'Hi' });
    await direct.request(
      `mutation($id: ID!) { updateConversationSettings(id: $id, settings: { instructionsEnabled: false, systemPrompt: "Be brief." }) { id } }`,
      { id: conversationId },
    );
    const active = dataOf(await turn(user.userId, { conversationId })).turnContext;
    expect(active).toMatchObject({
      conversationId,
      settings: { systemPrompt: 'Be brief.', instructionsEnabled: false },
      instructions: null,
      history: [{ content: 'Hello' }, { content: 'Hi' }],
    });
    const toFirst = dataOf(await turn(user.userId, { leafId: first.id })).turnContext;
    expect(toFirst).toMatchObject({ conversationId, history: [{ id: first.id }] });
    expect(
      dataOf(await turn(user.userId, { leafId: reply.id, historyLimit: 1 })).turnContext.history,
    ).toEqual([{ id: reply.id, content: 'Hi' }]);

    const stranger = await harness.newUser();
    expect(errorCodes(await turn(stranger.userId, { conversationId }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await turn(stranger.userId, { leafId: first.id }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await harness.direct(user).request(TURN, { historyLimit: 5 }))).not.toEqual([]);
  });

  it("stores the user's message and the STREAMING reply under it together, or neither", async () => {
    const user = await harness.newUser();
    const chat = harness.chatFor(user.userId);
    const APPEND_TURN = `mutation($input: AppendTurnInput!) {
      appendTurn(input: $input) {
        userMessage { id role content status conversation { id } parent { id } }
        reply { id role content status model parent { id } }
      }
    }`;
    type Appended = {
      appendTurn: {
        userMessage: { id: string; conversation: { id: string }; parent: { id: string } | null };
        reply: { id: string; status: string; model: string; parent: { id: string } };
      };
    };
    const { userMessage, reply } = dataOf(
      await chat.request<Appended>(APPEND_TURN, {
        input: { conversationId: null, content: 'Hello', replyModel: 'offline/echo' },
      }),
    ).appendTurn;
    expect(userMessage.parent).toBeNull();
    expect(reply).toMatchObject({
      role: 'ASSISTANT',
      content: '',
      status: 'STREAMING',
      model: 'offline/echo',
    });
    expect(reply.parent).toEqual({ id: userMessage.id });
    const conversationId = userMessage.conversation.id;
    const history = async () =>
      dataOf(await turn(user.userId, { conversationId })).turnContext.history.map((m) => m.id);
    expect(await history()).toEqual([userMessage.id, reply.id]);

    const other = await append(harness, user, { content: 'Elsewhere' });
    for (const input of [
      { conversationId, parentId: other.id, content: 'Wrong branch', replyModel: 'offline/echo' },
      { conversationId, content: 'x'.repeat(1_000_000), replyModel: 'offline/echo' },
      { conversationId, content: 'Long model', replyModel: 'm'.repeat(101) },
    ]) {
      expect(errorCodes(await chat.request(APPEND_TURN, { input }))).not.toEqual([]);
    }
    expect(await history()).toEqual([userMessage.id, reply.id]);
    expect(
      errorCodes(
        await harness.direct(user).request(APPEND_TURN, {
          input: { conversationId, content: 'As the gateway', replyModel: 'offline/echo' },
        }),
      ),
    ).not.toEqual([]);
  });

  it("appends a first message withContext: the turn and the owner's context, read beside it, in one request", async () => {
    const user = await harness.newUser();
    const direct = harness.direct(user);
    await direct.request(
      `mutation { updateInstructions(input: { howToAnswer: "Briefly." }) { howToAnswer } }`,
    );
    await direct.request(`mutation { remember(text: "Lives in Oslo.") { id } }`);
    await direct.request(`mutation { setRecallEnabled(enabled: false) }`);
    const chat = harness.chatFor(user.userId);
    const APPEND_FIRST = `mutation($input: AppendTurnInput!) {
      appendTurn(input: $input, withContext: true) {
        userMessage { id content conversation { id } }
        reply { id status parent { id } }
        context {
          conversationId settings { model systemPrompt instructionsEnabled recallEnabled }
          instructions { aboutMe howToAnswer } memories { text } recallEnabled history { id }
        }
      }
    }`;
    type AppendedFirst = {
      appendTurn: {
        userMessage: { id: string; content: string; conversation: { id: string } };
        reply: { id: string; status: string; parent: { id: string } };
        context: Turn;
      };
    };
    const appended = dataOf(
      await chat.request<AppendedFirst>(APPEND_FIRST, {
        input: { content: 'Hello', replyModel: 'offline/echo' },
      }),
    ).appendTurn;
    expect(appended.reply).toMatchObject({ status: 'STREAMING', parent: { id: appended.userMessage.id } });
    // Exactly what turnContext answers for no conversation.
    expect(appended.context).toEqual({
      conversationId: null,
      settings: { model: null, systemPrompt: null, instructionsEnabled: true, recallEnabled: true },
      instructions: { aboutMe: '', howToAnswer: 'Briefly.' },
      memories: [{ text: 'Lives in Oslo.' }],
      recallEnabled: false,
      history: [],
    });
    const conversationId = appended.userMessage.conversation.id;
    expect(dataOf(await turn(user.userId, { conversationId })).turnContext.history.map((m) => m.id)).toEqual([
      appended.userMessage.id,
      appended.reply.id,
    ]);

    // Only a first message: one in a conversation must be checked and held first, so it reads apart.
    const later = await chat.request(APPEND_FIRST, {
      input: { conversationId, content: 'Again', replyModel: 'offline/echo' },
    });
    expect(errorCodes(later)).toEqual(['BAD_USER_INPUT']);
    expect(later.errors?.[0].extensions?.field).toBe('withContext');
    expect(dataOf(await turn(user.userId, { conversationId })).turnContext.history).toHaveLength(2);
    // As every internal operation: the gateway's callers cannot reach it.
    expect(
      errorCodes(
        await direct.request(APPEND_FIRST, {
          input: { content: 'As the gateway', replyModel: 'offline/echo' },
        }),
      ),
    ).not.toEqual([]);
  });

  it('appends a follow-up withContext against the settings its reply was planned with: the turn, then its context, in one request', async () => {
    const user = await harness.newUser();
    await harness.direct(user).request(`mutation { remember(text: "Lives in Oslo.") { id } }`);
    const chat = harness.chatFor(user.userId);
    const first = await append(harness, user, { content: 'Hello' });
    const conversationId = first.conversation.id;
    const answer = await append(harness, user, { conversationId, role: 'ASSISTANT', content: 'Hi' });
    const APPEND_FOLLOW_UP = `mutation($input: AppendTurnInput!, $expectedSettings: String, $historyLimit: Int!) {
      appendTurn(input: $input, withContext: true, expectedSettings: $expectedSettings, historyLimit: $historyLimit) {
        userMessage { id } reply { id status parent { id } }
        context { conversationId settings { systemPrompt } memories { text } recallEnabled history { id } }
      }
    }`;
    type AppendedFollowUp = {
      appendTurn: {
        userMessage: { id: string };
        reply: { id: string; status: string; parent: { id: string } };
        context: Turn;
      };
    };
    const followUp = (variables: Record<string, unknown>, content = 'And then?') =>
      chat.request<AppendedFollowUp>(APPEND_FOLLOW_UP, {
        input: { conversationId, content, replyModel: 'offline/echo' },
        expectedSettings: settingsKey(DEFAULT_CONVERSATION_SETTINGS),
        historyLimit: 50,
        ...variables,
      });
    const history = async () =>
      dataOf(await turn(user.userId, { conversationId })).turnContext.history.map((m) => m.id);

    const appended = dataOf(await followUp({})).appendTurn;
    expect(appended.reply).toMatchObject({ status: 'STREAMING', parent: { id: appended.userMessage.id } });
    // The context as turnContext answers it at the user's message: what the reply is written from.
    expect(appended.context).toEqual({
      conversationId,
      settings: { systemPrompt: null },
      memories: [{ text: 'Lives in Oslo.' }],
      recallEnabled: true,
      history: [{ id: first.id }, { id: answer.id }, { id: appended.userMessage.id }],
    });
    const written = [first.id, answer.id, appended.userMessage.id, appended.reply.id];
    expect(await history()).toEqual(written);
    const shortHistory = dataOf(await followUp({ historyLimit: 1 }, 'Briefly?')).appendTurn;
    expect(shortHistory.context.history).toEqual([{ id: shortHistory.userMessage.id }]);
    written.push(shortHistory.userMessage.id, shortHistory.reply.id);

    // Settings changed since the reply was planned: nothing is written, so the caller can plan again.
    await harness
      .direct(user)
      .request(
        `mutation($id: ID!) { updateConversationSettings(id: $id, settings: { systemPrompt: "Be brief." }) { id } }`,
        {
          id: conversationId,
        },
      );
    const stale = await followUp({});
    expect(errorCodes(stale)).toEqual(['BAD_USER_INPUT']);
    expect(stale.errors?.[0].extensions?.field).toBe('expectedSettings');
    const staleWithoutContext = await chat.request(
      `mutation($input: AppendTurnInput!, $expectedSettings: String) {
        appendTurn(input: $input, expectedSettings: $expectedSettings) { reply { id } }
      }`,
      {
        input: { conversationId, content: 'And then?', replyModel: 'offline/echo' },
        expectedSettings: settingsKey(DEFAULT_CONVERSATION_SETTINGS),
      },
    );
    expect(staleWithoutContext.errors?.[0].extensions?.field).toBe('expectedSettings');
    expect(await history()).toEqual(written);

    // Another user's conversation is not found, whatever the settings; a follow-up needs its settings and the active leaf.
    const stranger = harness.chatFor((await harness.newUser()).userId);
    const strangers = await stranger.request(APPEND_FOLLOW_UP, {
      input: { conversationId, content: 'Mine now?', replyModel: 'offline/echo' },
      expectedSettings: settingsKey({ ...DEFAULT_CONVERSATION_SETTINGS, systemPrompt: 'Be brief.' }),
      historyLimit: 50,
    });
    expect(errorCodes(strangers)).toEqual(['NOT_FOUND']);
    for (const variables of [
      { expectedSettings: null },
      { input: { conversationId, parentId: first.id, content: 'Branch', replyModel: 'offline/echo' } },
    ]) {
      const refused = await followUp(variables);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0].extensions?.field).toBe('withContext');
    }
    expect(await history()).toEqual(written);
  });

  it.each([
    ['a first message', false],
    ['a follow-up', true],
  ])(
    "marks %s's reply FAILED when the context's read fails after the write, and answers the error",
    async (_, followUp) => {
      const user = await harness.newUser();
      const conversationId = followUp
        ? (await append(harness, user, { content: 'Hello' })).conversation.id
        : null;
      const schema = harness.env.CONVERSATION_DB_SCHEMA;
      const database = new PgClient({ connectionString: harness.env.DATABASE_URL });
      await database.connect();
      // The read needs the owner's memories; the write never touches them. Renamed under the
      // schema-change lock: another test file's migration reading the catalog meanwhile would fail.
      const rename = (from: string, to: string) =>
        withSchemaChangeLock(harness.env.DATABASE_URL, () =>
          database.query(`alter table "${schema}".${from} rename to ${to}`),
        );
      await rename('memories', 'memories_away');
      let answer: Awaited<ReturnType<Client['request']>>;
      try {
        answer = await harness.chatFor(user.userId).request(
          `mutation($input: AppendTurnInput!, $expectedSettings: String) {
          appendTurn(input: $input, withContext: true, expectedSettings: $expectedSettings) {
            reply { id } context { recallEnabled }
          }
        }`,
          {
            input: { conversationId, content: 'Hello again', replyModel: 'offline/echo' },
            expectedSettings: followUp ? settingsKey(DEFAULT_CONVERSATION_SETTINGS) : null,
          },
        );
      } finally {
        await rename('memories_away', 'memories');
      }
      expect(errorCodes(answer)).not.toEqual([]);
      expect(answer.data ?? null).toBeNull();
      // The turn was written (a follow-up's under the first message); nothing would ever finish its
      // reply, so it is FAILED, not STREAMING.
      const { rows } = await database.query<{ role: string; status: string; content: string }>(
        `select m.role, m.status, m.content from "${schema}".messages m
         join "${schema}".conversations c on c.id = m.conversation_id
        where c.owner_id = $1 and m.content <> 'Hello' order by m.depth`,
        [user.userId],
      );
      await database.end();
      expect(rows).toEqual([
        { role: 'USER', status: 'COMPLETE', content: 'Hello again' },
        { role: 'ASSISTANT', status: 'FAILED', content: '' },
      ]);
    },
  );
});
