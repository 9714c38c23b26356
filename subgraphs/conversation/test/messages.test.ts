import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { signedHeaders } from '../../../common/testing/identity';
import {
  APPEND,
  append,
  type Client,
  type Harness,
  dataOf,
  startConversationHarness,
} from '../testing/harness';

const BRANCH = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  conversation(id: $id) {
    messages(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { content } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;

interface BranchPage {
  edges: { cursor: string; node: { content: string } }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

const UPDATE = `mutation($input: UpdateMessageInput!) {
  updateMessage(input: $input) { id content status promptTokens completionTokens }
}`;
const PATH = `query($leafId: ID!, $limit: Int) { messagePath(leafId: $leafId, limit: $limit) { content } }`;

describe('messages', () => {
  let harness: Harness;
  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    harness = await startConversationHarness('messages', { env: { MESSAGE_MAX_CHARS: '1000' } });
    alice = await harness.newUser();
    bob = await harness.newUser();
  });
  afterAll(() => harness?.stop());

  const branch = async (user: Client, id: string, args: Record<string, unknown>) =>
    dataOf(await user.request<{ conversation: { messages: BranchPage } }>(BRANCH, { id, ...args }))
      .conversation.messages;
  const contents = (page: BranchPage) => page.edges.map((edge) => edge.node.content);

  describe('appending', () => {
    it('creates a conversation owned by the acting user when none is named', async () => {
      const message = await append(harness, alice, { content: 'hello' });
      expect(message).toMatchObject({ role: 'USER', content: 'hello', status: 'COMPLETE', parent: null });
      const conversation = await alice.request(
        `query($id: ID!) { conversation(id: $id) { title lastMessage { id } } }`,
        {
          id: message.conversation.id,
        },
      );
      expect(dataOf(conversation)).toEqual({
        conversation: { title: 'New conversation', lastMessage: { id: message.id } },
      });
    });

    it('adds under the active leaf by default', async () => {
      const first = await append(harness, alice, { content: 'one' });
      const second = await append(harness, alice, {
        conversationId: first.conversation.id,
        role: 'ASSISTANT',
        content: 'two',
      });
      expect(second.parent).toEqual({ id: first.id });
    });

    it('adds a second root with asRoot, and refuses asRoot with a parent or without a conversation', async () => {
      const first = await append(harness, alice, { content: 'Hello' });
      const conversationId = first.conversation.id;
      await append(harness, alice, { conversationId, role: 'ASSISTANT', content: 'Hi' });
      const root = await append(harness, alice, { conversationId, asRoot: true, content: 'Good morning' });
      expect(root.parent).toBeNull();
      expect(contents(await branch(alice, conversationId, { first: 10 }))).toEqual(['Good morning']);

      const chat = harness.chatFor(alice.userId);
      const appendAs = (input: Record<string, unknown>) =>
        chat.request(`mutation($input: AppendMessageInput!) { appendMessage(input: $input) { id } }`, {
          input: { role: 'USER', content: 'x', ...input },
        });
      expect(
        (await appendAs({ conversationId, parentId: first.id, asRoot: true })).errors?.[0].extensions,
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'asRoot' });
      expect((await appendAs({ asRoot: true })).errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'conversationId',
      });
    });

    it("refuses a conversation or a parent that is not the acting user's", async () => {
      const mine = await append(harness, alice, { content: 'mine' });
      const chat = harness.chatFor(bob.userId);
      const response = await chat.request(
        `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { id } }`,
        {
          input: { conversationId: mine.conversation.id, role: 'USER', content: 'intruder' },
        },
      );
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
      const bobs = await append(harness, bob, { content: 'bob' });
      const crossParent = await chat.request(
        `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { id } }`,
        {
          input: { conversationId: bobs.conversation.id, parentId: mine.id, role: 'USER', content: 'x' },
        },
      );
      expect(errorCodes(crossParent)).toEqual(['NOT_FOUND']);
    });

    it('refuses content over MESSAGE_MAX_CHARS, naming the field', async () => {
      const response = await harness
        .chatFor(alice.userId)
        .request(`mutation($input: AppendMessageInput!) { appendMessage(input: $input) { id } }`, {
          input: { role: 'USER', content: 'x'.repeat(1001) },
        });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'content' });
      expect((await append(harness, alice, { content: 'x'.repeat(1000) })).content).toHaveLength(1000);
    });
  });

  describe('internal operations', () => {
    it.each([
      ['appendMessage', `mutation { appendMessage(input: { role: USER, content: "x" }) { id } }`],
      [
        'updateMessage',
        `mutation { updateMessage(input: { id: "00000000-0000-4000-8000-000000000000" }) { id } }`,
      ],
      ['messagePath', `{ messagePath(leafId: "00000000-0000-4000-8000-000000000000") { id } }`],
      ['recallMessages', `{ recallMessages(query: "x") { score } }`],
      ['streamingMessages', `{ streamingMessages { id } }`],
    ])('refuses %s signed by the gateway, even for a signed-in user', async (_name, operation) => {
      // The gateway's API does not even have these fields (see gateway.test.ts); the subgraph
      // refuses them too, should a request signed by the gateway carry one.
      expect(errorCodes(await harness.direct(alice).request(operation))).toEqual(['FORBIDDEN']);
    });

    it('refuses them signed by a service that is not a trusted caller', async () => {
      const query = `{ streamingMessages { id } }`;
      const response = await postGraphQL(
        harness.subgraph.url,
        query,
        {},
        signedHeaders(alice.userId, { audience: 'conversation', query, variables: {} }, { issuer: 'auth' }),
      );
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    });

    it('updates a streaming reply through checkpoints to its final state', async () => {
      const question = await append(harness, alice, { content: 'Tell me a story' });
      const reply = await append(harness, alice, {
        conversationId: question.conversation.id,
        role: 'ASSISTANT',
        content: '',
        status: 'STREAMING',
      });
      const chat = harness.chatFor(alice.userId);
      await chat.request(UPDATE, { input: { id: reply.id, content: 'Once upon' } });
      const final = await chat.request(UPDATE, {
        input: {
          id: reply.id,
          content: 'Once upon a time.',
          status: 'COMPLETE',
          promptTokens: 12,
          completionTokens: 5,
        },
      });
      expect(dataOf(final).updateMessage).toEqual({
        id: reply.id,
        content: 'Once upon a time.',
        status: 'COMPLETE',
        promptTokens: 12,
        completionTokens: 5,
      });
    });

    it('keeps a final message final, but accepts its token counts and a repeat of its state', async () => {
      const reply = await append(harness, alice, {
        role: 'ASSISTANT',
        content: 'Stopped here',
        status: 'STOPPED',
      });
      const chat = harness.chatFor(alice.userId);
      const overwrite = await chat.request(UPDATE, {
        input: { id: reply.id, content: 'late checkpoint', promptTokens: 9 },
      });
      expect(overwrite.errors?.[0]).toMatchObject({
        message: 'the message is STOPPED; only a STREAMING message changes its content or status',
        extensions: { code: 'BAD_USER_INPUT', field: 'content' },
      });
      const reopen = await chat.request(UPDATE, { input: { id: reply.id, status: 'STREAMING' } });
      expect(reopen.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status' });
      const both = await chat.request(UPDATE, { input: { id: reply.id, content: 'x', status: 'COMPLETE' } });
      expect(both.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status' });
      const tokens = await chat.request(UPDATE, {
        input: { id: reply.id, status: 'STOPPED', completionTokens: 3 },
      });
      // A refused save stores nothing, not even the token counts that came with it.
      expect(dataOf(tokens).updateMessage).toEqual({
        id: reply.id,
        status: 'STOPPED',
        content: 'Stopped here',
        promptTokens: null,
        completionTokens: 3,
      });
      const same = await chat.request(UPDATE, {
        input: { id: reply.id, content: 'Stopped here', promptTokens: 4 },
      });
      expect(dataOf(same).updateMessage).toMatchObject({
        content: 'Stopped here',
        promptTokens: 4,
        completionTokens: 3,
      });
    });

    describe('naming the conversation', () => {
      const TITLE = `query($id: ID!) { conversation(id: $id) { title } }`;
      const titleOf = async (id: string) =>
        dataOf(await alice.request<{ conversation: { title: string } }>(TITLE, { id })).conversation.title;
      const streamingReply = () =>
        append(harness, alice, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const finalSave = (id: string, conversationTitle: string) =>
        harness.chatFor(alice.userId).request(UPDATE, {
          input: { id, content: 'A reply.', status: 'COMPLETE', conversationTitle },
        });

      it('names a conversation nobody has named with the final save, in the same request', async () => {
        const reply = await streamingReply();
        expect(await titleOf(reply.conversation.id)).toBe('New conversation');
        const saved = await finalSave(reply.id, '  Sourdough at home  ');
        expect(dataOf(saved).updateMessage).toMatchObject({ content: 'A reply.', status: 'COMPLETE' });
        expect(await titleOf(reply.conversation.id)).toBe('Sourdough at home');
      });

      it('keeps a title its owner gave, even while the first reply was streaming', async () => {
        const reply = await streamingReply();
        await alice.request(`mutation($id: ID!) { renameConversation(id: $id, title: "Mine") { id } }`, {
          id: reply.conversation.id,
        });
        const saved = await finalSave(reply.id, 'Named by chat');
        expect(dataOf(saved).updateMessage).toMatchObject({ status: 'COMPLETE' });
        expect(await titleOf(reply.conversation.id)).toBe('Mine');
      });

      it('names it with only the title, once the message is final (a title a model wrote after the save)', async () => {
        const reply = await streamingReply();
        await harness.chatFor(alice.userId).request(UPDATE, { input: { id: reply.id, status: 'COMPLETE' } });
        const named = await harness
          .chatFor(alice.userId)
          .request(UPDATE, { input: { id: reply.id, conversationTitle: 'Written later' } });
        expect(named.errors).toBeUndefined();
        expect(await titleOf(reply.conversation.id)).toBe('Written later');
        // Only the first name is taken: the conversation is no longer untitled.
        await harness.chatFor(alice.userId).request(UPDATE, {
          input: { id: reply.id, conversationTitle: 'Written again' },
        });
        expect(await titleOf(reply.conversation.id)).toBe('Written later');
      });

      it('refuses a blank or overlong title, naming the field, and saves nothing of that request', async () => {
        for (const conversationTitle of ['   ', 'x'.repeat(201)]) {
          const reply = await streamingReply();
          const refused = await finalSave(reply.id, conversationTitle);
          expect(refused.errors?.[0].extensions).toMatchObject({
            code: 'BAD_USER_INPUT',
            field: 'conversationTitle',
          });
          const untouched = await harness.chatFor(alice.userId).request(UPDATE, { input: { id: reply.id } });
          expect(dataOf(untouched).updateMessage).toMatchObject({ content: '', status: 'STREAMING' });
          expect(await titleOf(reply.conversation.id)).toBe('New conversation');
        }
      });

      it("does not name another user's conversation", async () => {
        const reply = await streamingReply();
        const response = await harness.chatFor(bob.userId).request(UPDATE, {
          input: { id: reply.id, status: 'COMPLETE', conversationTitle: 'Bob was here' },
        });
        expect(errorCodes(response)).toEqual(['NOT_FOUND']);
        expect(await titleOf(reply.conversation.id)).toBe('New conversation');
      });
    });

    describe('interrupting a reply whose generation is lost', () => {
      const INTERRUPT = `mutation($id: ID!) { interruptMessage(id: $id) { id content status } }`;

      it('ends a STREAMING reply as INTERRUPTED for chat acting for no user, with the content it has', async () => {
        const reply = await append(harness, alice, {
          role: 'ASSISTANT',
          content: 'Checkpointed',
          status: 'STREAMING',
        });
        const interrupted = await harness.chatFor(null).request(INTERRUPT, { id: reply.id });
        expect(dataOf(interrupted).interruptMessage).toEqual({
          id: reply.id,
          content: 'Checkpointed',
          status: 'INTERRUPTED',
        });
        // A checkpoint that comes late changes nothing now.
        const late = await harness
          .chatFor(alice.userId)
          .request(UPDATE, { input: { id: reply.id, content: 'x' } });
        expect(errorCodes(late)).toEqual(['BAD_USER_INPUT']);
      });

      it('leaves a final message as it is', async () => {
        const reply = await append(harness, alice, {
          role: 'ASSISTANT',
          content: 'Done',
          status: 'COMPLETE',
        });
        const response = await harness.chatFor(null).request(INTERRUPT, { id: reply.id });
        expect(dataOf(response).interruptMessage).toMatchObject({ content: 'Done', status: 'COMPLETE' });
      });

      it("is chat's alone, and for a user only their own messages", async () => {
        const reply = await append(harness, alice, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
        // Not in the public API at all: the gateway does not know the field.
        expect(errorCodes(await alice.request(INTERRUPT, { id: reply.id }))).toEqual([
          'GRAPHQL_VALIDATION_FAILED',
        ]);
        expect(errorCodes(await harness.direct(alice).request(INTERRUPT, { id: reply.id }))).toEqual([
          'FORBIDDEN',
        ]);
        expect(errorCodes(await harness.chatFor(bob.userId).request(INTERRUPT, { id: reply.id }))).toEqual([
          'NOT_FOUND',
        ]);
        expect(
          errorCodes(
            await harness.chatFor(null).request(INTERRUPT, { id: '00000000-0000-4000-8000-000000000000' }),
          ),
        ).toEqual(['NOT_FOUND']);
        const untouched = await harness.chatFor(alice.userId).request(UPDATE, { input: { id: reply.id } });
        expect(dataOf(untouched).updateMessage).toMatchObject({ status: 'STREAMING' });
      });
    });

    it("does not update another user's message, nor a missing one", async () => {
      const reply = await append(harness, alice, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const save = (user: Client, id: string) =>
        harness.chatFor(user.userId).request(UPDATE, { input: { id, content: 'x' } });
      for (const response of [
        await save(bob, reply.id),
        await save(alice, '00000000-0000-4000-8000-000000000000'),
        await save(alice, 'not-an-id'),
      ]) {
        expect(response.errors?.[0]).toMatchObject({
          message: 'Message not found',
          extensions: { code: 'NOT_FOUND' },
        });
      }
      const untouched = await harness.chatFor(alice.userId).request(UPDATE, { input: { id: reply.id } });
      expect(dataOf(untouched).updateMessage).toMatchObject({ content: '', status: 'STREAMING' });
    });

    it('lists streaming messages: the acting user’s, or everyone’s for chat acting for no user', async () => {
      const alices = await append(harness, alice, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const bobs = await append(harness, bob, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const query = `{ streamingMessages { id conversation { id } } }`;
      const all = dataOf(await harness.chatFor(null).request<{ streamingMessages: { id: string }[] }>(query));
      expect(all.streamingMessages.map((m) => m.id)).toEqual(expect.arrayContaining([alices.id, bobs.id]));
      const own = dataOf(
        await harness.chatFor(bob.userId).request<{ streamingMessages: { id: string }[] }>(query),
      );
      expect(own.streamingMessages.map((m) => m.id)).toContain(bobs.id);
      expect(own.streamingMessages.map((m) => m.id)).not.toContain(alices.id);
    });

    it('lists streaming messages a page at a time, oldest first, after a given message', async () => {
      const user = await harness.newUser();
      const first = await append(harness, user, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const more = [];
      for (let i = 0; i < 2; i++)
        more.push(
          await append(harness, user, {
            conversationId: first.conversation.id,
            role: 'ASSISTANT',
            content: '',
            status: 'STREAMING',
          }),
        );
      const page = async (after: string | null) =>
        dataOf(
          await harness.chatFor(user.userId).request<{
            streamingMessages: { id: string }[];
          }>('query($after: ID) { streamingMessages(first: 2, after: $after) { id } }', { after }),
        ).streamingMessages.map((m) => m.id);
      expect(await page(null)).toEqual([first.id, more[0].id]);
      expect(await page(more[0].id)).toEqual([more[1].id]);
      const tooMany = await harness.chatFor(user.userId).request('{ streamingMessages(first: 1000) { id } }');
      expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    });

    it('returns the path from the root to a leaf, the newest `limit` messages, oldest first', async () => {
      let last = await append(harness, alice, { content: 'm0' });
      for (let i = 1; i < 6; i++) {
        last = await append(harness, alice, { conversationId: last.conversation.id, content: `m${i}` });
      }
      const chat = harness.chatFor(alice.userId);
      const path = async (limit?: number) =>
        dataOf(
          await chat.request<{ messagePath: { content: string }[] }>(PATH, { leafId: last.id, limit }),
        ).messagePath.map((m) => m.content);
      expect(await path()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      expect(await path(2)).toEqual(['m4', 'm5']);
      expect(errorCodes(await harness.chatFor(bob.userId).request(PATH, { leafId: last.id }))).toEqual([
        'NOT_FOUND',
      ]);
      const tooMany = await chat.request(PATH, { leafId: last.id, limit: 101 });
      expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
    });
  });

  describe('the active branch', () => {
    let conversationId: string;

    beforeAll(async () => {
      let last = await append(harness, alice, { content: 'm0' });
      conversationId = last.conversation.id;
      for (let i = 1; i < 7; i++) last = await append(harness, alice, { conversationId, content: `m${i}` });
    });

    it('pages forward from the root with cursors', async () => {
      const first = await branch(alice, conversationId, { first: 3 });
      expect(contents(first)).toEqual(['m0', 'm1', 'm2']);
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const second = await branch(alice, conversationId, { first: 3, after: first.pageInfo.endCursor });
      expect(contents(second)).toEqual(['m3', 'm4', 'm5']);
      const third = await branch(alice, conversationId, { first: 3, after: second.pageInfo.endCursor });
      expect(contents(third)).toEqual(['m6']);
      expect(third.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    });

    it('pages backward from the newest with cursors', async () => {
      const newest = await branch(alice, conversationId, { last: 3 });
      expect(contents(newest)).toEqual(['m4', 'm5', 'm6']);
      expect(newest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      const older = await branch(alice, conversationId, { last: 3, before: newest.pageInfo.startCursor });
      expect(contents(older)).toEqual(['m1', 'm2', 'm3']);
      expect(older.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
      const oldest = await branch(alice, conversationId, { last: 3, before: older.pageInfo.startCursor });
      expect(contents(oldest)).toEqual(['m0']);
      expect(oldest.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    });

    it('gives the first 50 when neither first nor last is asked for', async () => {
      expect(contents(await branch(alice, conversationId, {}))).toHaveLength(7);
    });

    it('refuses mixing directions and bad page sizes, naming the field', async () => {
      const mixed = await alice.request(BRANCH, { id: conversationId, first: 2, last: 2 });
      expect(mixed.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
      const huge = await alice.request(BRANCH, { id: conversationId, last: 500 });
      expect(huge.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
      const badCursor = await alice.request(BRANCH, { id: conversationId, first: 2, after: 'eyJ4IjoxfQ' });
      expect(badCursor.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    });

    it('is empty for a conversation without messages', async () => {
      const created = dataOf(
        await alice.request<{ createConversation: { id: string } }>(`mutation { createConversation { id } }`),
      );
      const page = await branch(alice, created.createConversation.id, { first: 5 });
      expect(page).toEqual({
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    });
  });

  describe('branch navigation', () => {
    it('follows a regenerated reply and switches back to the first version', async () => {
      const question = await append(harness, alice, { content: 'Capital of Australia?' });
      const conversationId = question.conversation.id;
      const wrong = await append(harness, alice, { conversationId, role: 'ASSISTANT', content: 'Sydney' });
      await append(harness, alice, { conversationId, content: 'Are you sure?' });
      const right = await append(harness, alice, {
        conversationId,
        parentId: question.id,
        role: 'ASSISTANT',
        content: 'Canberra',
      });
      expect(right.parent).toEqual({ id: question.id });
      expect(contents(await branch(alice, conversationId, { first: 10 }))).toEqual([
        'Capital of Australia?',
        'Canberra',
      ]);

      const siblings = await alice.request<{
        conversation: { lastMessage: { siblings: { content: string }[] } };
      }>(`query($id: ID!) { conversation(id: $id) { lastMessage { siblings { content } } } }`, {
        id: conversationId,
      });
      expect(dataOf(siblings).conversation.lastMessage.siblings.map((m) => m.content)).toEqual([
        'Sydney',
        'Canberra',
      ]);

      const switched = await alice.request<{ switchBranch: { lastMessage: { content: string } } }>(
        `mutation($id: ID!) { switchBranch(messageId: $id) { lastMessage { content } } }`,
        { id: wrong.id },
      );
      // Switching to a message follows its newest descendants down to a leaf.
      expect(dataOf(switched).switchBranch.lastMessage.content).toBe('Are you sure?');
      expect(contents(await branch(alice, conversationId, { first: 10 }))).toEqual([
        'Capital of Australia?',
        'Sydney',
        'Are you sure?',
      ]);
    });

    it('gives a root message the roots of its conversation as siblings, and no parent', async () => {
      const root = await append(harness, alice, { content: 'first' });
      await append(harness, alice, { conversationId: root.conversation.id, content: 'second' });
      const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Message { siblings { id } parent { id } } } }`;
      const response = await harness
        .direct(alice)
        .request<{ _entities: { siblings: { id: string }[]; parent: null }[] }>(query, {
          r: [{ __typename: 'Message', id: root.id }],
        });
      expect(dataOf(response)._entities[0]).toEqual({ siblings: [{ id: root.id }], parent: null });
    });

    it('keeps a message to 20 versions: Message.siblings lists them all, a 21st is refused', async () => {
      const question = await append(harness, alice, { content: 'Pick a number' });
      const conversationId = question.conversation.id;
      const versions = [];
      for (let i = 0; i < 20; i++)
        versions.push(
          await append(harness, alice, {
            conversationId,
            parentId: question.id,
            role: 'ASSISTANT',
            content: `${i}`,
          }),
        );
      const refused = await harness.chatFor(alice.userId).request(APPEND, {
        input: { conversationId, parentId: question.id, role: 'ASSISTANT', content: '21' },
      });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'parentId' });
      const listed = await alice.request<{ conversation: { lastMessage: { siblings: { id: string }[] } } }>(
        'query($id: ID!) { conversation(id: $id) { lastMessage { siblings { id } } } }',
        { id: conversationId },
      );
      expect(dataOf(listed).conversation.lastMessage.siblings.map((m) => m.id)).toEqual(
        versions.map((v) => v.id),
      );
    });

    it('keeps the limit when versions are added all at once: the conversation is locked before they are counted', async () => {
      const question = await append(harness, alice, { content: 'Pick a letter' });
      const conversationId = question.conversation.id;
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          harness.chatFor(alice.userId).request(APPEND, {
            input: { conversationId, parentId: question.id, role: 'ASSISTANT', content: `${i}` },
          }),
        ),
      );
      expect(responses.filter((response) => !response.errors)).toHaveLength(20);
      expect(responses.flatMap((response) => errorCodes(response))).toEqual(Array(5).fill('BAD_USER_INPUT'));
    });

    it("does not switch to another user's branch", async () => {
      const message = await append(harness, alice, { content: 'private' });
      const response = await bob.request(`mutation($id: ID!) { switchBranch(messageId: $id) { id } }`, {
        id: message.id,
      });
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
    });
  });
});
