import { Redis } from 'ioredis';
import { errorCodes } from '../../../common/testing/graphql-client';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

const CONVERSATION = `query($id: ID!) {
  conversation(id: $id) { title lastMessage { content } messages(last: 10) { edges { node { content status } } } }
}`;
const UPDATE = `mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { id } }`;

interface Snapshot {
  title: string;
  lastMessage: { content: string } | null;
  messages: { edges: { node: { content: string; status: string } }[] };
}

/** Read-after-write through the cache the harness has. */
function describeReadAfterWrite(
  label: string,
  options: () => Promise<Parameters<typeof startConversationHarness>[1]>,
) {
  describe(label, () => {
    let harness: Harness;
    let user: Client;

    beforeAll(async () => {
      harness = await startConversationHarness(`cache ${label}`, await options());
      user = await harness.newUser();
    });
    afterAll(() => harness?.stop());

    const titles = async () =>
      dataOf(
        await harness.conversationsOf<{ edges: { node: { title: string } }[] }>(
          user,
          'edges { node { title } }',
          {
            first: 10,
          },
        ),
      ).edges.map((edge) => edge.node.title);
    const snapshot = async (id: string) =>
      dataOf(await user.request<{ conversation: Snapshot }>(CONVERSATION, { id })).conversation;
    const create = async (title: string) =>
      dataOf(
        await user.request<{ createConversation: { id: string } }>(
          `mutation($t: String) { createConversation(title: $t) { id } }`,
          { t: title },
        ),
      ).createConversation.id;

    it('shows a created conversation in a list read just before', async () => {
      await titles();
      await create('created');
      expect(await titles()).toContain('created');
    });

    it('shows a rename in the list and the conversation read just before', async () => {
      const id = await create('old name');
      await titles();
      await snapshot(id);
      await user.request(`mutation($id: ID!) { renameConversation(id: $id, title: "new name") { id } }`, {
        id,
      });
      expect((await snapshot(id)).title).toBe('new name');
      expect(await titles()).toContain('new name');
      expect(await titles()).not.toContain('old name');
    });

    it('shows a title the final save gave in the list and the conversation read just before', async () => {
      const reply = await append(harness, user, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const id = reply.conversation.id;
      await titles();
      await snapshot(id);
      await harness.chatFor(user.userId).request(UPDATE, {
        input: { id: reply.id, content: 'Done.', status: 'COMPLETE', conversationTitle: 'Named by chat' },
      });
      expect((await snapshot(id)).title).toBe('Named by chat');
      expect(await titles()).toContain('Named by chat');
    });

    it('forgets a deleted conversation', async () => {
      const id = await create('doomed');
      await titles();
      await snapshot(id);
      await user.request(`mutation($id: ID!) { deleteConversation(id: $id) }`, { id });
      expect(errorCodes(await user.request(CONVERSATION, { id }))).toEqual(['NOT_FOUND']);
      expect(await titles()).not.toContain('doomed');
    });

    it('shows an appended message in the branch and the list order read just before', async () => {
      const older = await create('older');
      await create('newer');
      await append(harness, user, { conversationId: older, content: 'first' });
      expect((await snapshot(older)).messages.edges.map((e) => e.node.content)).toEqual(['first']);
      expect((await titles()).slice(0, 2)).toEqual(['older', 'newer']);
      await create('newest');
      await append(harness, user, { conversationId: older, content: 'second' });
      const after = await snapshot(older);
      expect(after.messages.edges.map((e) => e.node.content)).toEqual(['first', 'second']);
      expect(after.lastMessage).toEqual({ content: 'second' });
      expect((await titles())[0]).toBe('older');
    });

    it('shows each checkpoint of a streaming message read just before', async () => {
      const reply = await append(harness, user, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
      const id = reply.conversation.id;
      const chat = harness.chatFor(user.userId);
      for (const content of ['Hel', 'Hello', 'Hello there']) {
        await snapshot(id);
        await chat.request(UPDATE, { input: { id: reply.id, content } });
        expect((await snapshot(id)).messages.edges.at(-1)?.node).toEqual({ content, status: 'STREAMING' });
      }
      await chat.request(UPDATE, { input: { id: reply.id, status: 'COMPLETE' } });
      expect((await snapshot(id)).messages.edges.at(-1)?.node).toEqual({
        content: 'Hello there',
        status: 'COMPLETE',
      });
    });
  });
}

describe('the cache', () => {
  // Without Redis the subgraph serves nothing (it cannot check an identity's nonce: see
  // test/identity-replay.test.ts); the cache's own fallback is in generational-cache.test.ts.
  describeReadAfterWrite('with Redis up', async () => ({}));

  describe('with Redis up', () => {
    let harness: Harness;

    beforeAll(async () => {
      harness = await startConversationHarness('cache keys');
    });
    afterAll(() => harness?.stop());

    it('keeps list pages, conversations and branch pages in Redis under the service prefix', async () => {
      const user = await harness.newUser();
      const message = await append(harness, user, { content: 'hi' });
      await user.request(CONVERSATION, { id: message.conversation.id });
      await harness.conversationsOf(user, 'edges { node { id } }', { first: 10 });
      const redis = new Redis(harness.env.REDIS_URL);
      try {
        const keys = await redis.keys(`${harness.env.REDIS_KEY_PREFIX}cache:entry:*`);
        expect(
          keys.map((key) => key.slice(harness.env.REDIS_KEY_PREFIX.length).split('|')[0]).sort(),
        ).toEqual(
          [
            `cache:entry:conversation:${message.conversation.id}:branch:${message.id}:b:10:`,
            `cache:entry:conversation:${message.conversation.id}:row`,
            `cache:entry:user:${user.userId}:list:10:`,
          ].sort(),
        );
        for (const key of keys) expect(await redis.ttl(key)).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    });
  });
});
