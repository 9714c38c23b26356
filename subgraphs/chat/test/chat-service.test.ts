import { randomUUID } from 'node:crypto';
import { AppError } from '../../../common/errors/errors';
import type { UserCaller } from '../../../common/identity/caller';
import type { AppendMessageInput } from '../clients/conversation.client';
import type { StoredMessage } from '../records/message.record';
import { MemoryConversationStore } from '../testing/memory-conversation-store';
import type { ChatRuntime } from '../app';
import { userCaller } from '../testing/chat-config';
import { testChatRuntimes } from '../testing/chat-runtime';
import { interceptCalls } from '../testing/intercepted-calls';
import { testRedis } from '../testing/redis';

const redisForTest = testRedis('chat_service');
const runtimes = testChatRuntimes(redisForTest.prefix);

/**
 * The memory store, except that one user's message writes wait at a gate: so a request can be
 * caught in the middle, holding whatever it took before it wrote.
 */
class GatedStore extends MemoryConversationStore {
  blockedUser: string | null = null;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  private reached!: () => void;
  /** Settles when the blocked user's write reaches the gate. */
  readonly blockedWriteArrived = new Promise<void>((resolve) => (this.reached = resolve));

  override async appendMessage(caller: UserCaller, input: AppendMessageInput): Promise<StoredMessage> {
    if (caller.userId === this.blockedUser) {
      this.reached();
      await this.gate;
    }
    return super.appendMessage(caller, input);
  }

  release(): void {
    this.open();
  }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof AppError ? error.code : String(error)),
  );

describe('sending into a conversation (real Redis)', () => {
  let runtime: ChatRuntime;
  let store: GatedStore;

  beforeEach(async () => {
    store = new GatedStore();
    runtime = await runtimes.start({}, { conversations: store });
  });
  afterEach(async () => {
    store.release();
    await runtimes.stopAll();
  });
  afterAll(() => redisForTest.cleanup());

  /** Waits for a reply to finish, so its conversation's slot is free again. */
  const settle = async (identity: ReturnType<typeof userCaller>, generationId: string) => {
    for await (const _event of await runtime.services.generations.follow(identity, generationId, 0)) {
      // drained
    }
  };

  it('checks ownership before taking the reply slot: a stranger never holds the owner’s conversation', async () => {
    const owner = userCaller(randomUUID());
    const stranger = userCaller(randomUUID());
    const first = await runtime.services.chat.send(owner, { content: 'My own conversation' });
    await settle(owner, first.generation.id);

    // The stranger sends into it by id, and is held in the middle of the request if it gets that far.
    store.blockedUser = stranger.userId;
    const intrusion = codeOf(
      runtime.services.chat.send(stranger, { conversationId: first.conversationId, content: 'Mine now' }),
    );
    await Promise.race([intrusion, store.blockedWriteArrived]);

    // Meanwhile the owner must be able to send into their own conversation.
    const reply = await codeOf(
      runtime.services.chat.send(owner, { conversationId: first.conversationId, content: 'Still mine' }),
    );
    expect(reply).toBe('resolved');
    store.release();
    expect(await intrusion).toBe('NOT_FOUND');
  });

  describe('a follow-up in a conversation this process has seen its owner use', () => {
    /** The calls chat makes to the conversation subgraph, by name, in order. */
    const calls: string[] = [];
    const watched = () =>
      runtimes.start(
        { QUOTA_CONCURRENT_GENERATIONS: '1' },
        {
          conversations: interceptCalls(store, (method, proceed) => {
            calls.push(method);
            return proceed();
          }),
        },
      );
    beforeEach(() => calls.splice(0));
    const writes = () => calls.filter((method) => method !== 'updateMessage');

    it('is written and its context read in one request, nothing read first', async () => {
      const { services } = await watched();
      const owner = userCaller(randomUUID());
      const first = await services.chat.send(owner, { content: 'Hello' });
      await settle(owner, first.generation.id);
      calls.splice(0);

      const next = await services.chat.send(owner, {
        conversationId: first.conversationId,
        content: 'Again',
      });
      await settle(owner, next.generation.id);
      expect(writes()).toEqual(['appendFollowUpTurn']);
      expect(store.messages.get(next.generation.messageId)).toMatchObject({ status: 'COMPLETE' });
      expect(next.generation.parentMessageId).toBe(next.userMessage.id);
    });

    it('planned with settings changed since, is written once, under the settings the conversation has now', async () => {
      const { services } = await watched();
      const owner = userCaller(randomUUID());
      const first = await services.chat.send(owner, { content: 'Hello' });
      await settle(owner, first.generation.id);
      const conversation = store.conversations.get(first.conversationId);
      if (!conversation) throw new Error('the conversation was not stored');
      // Changed through the conversation subgraph, which chat does not hear of.
      conversation.settings = { ...conversation.settings, instructionsEnabled: false };
      calls.splice(0);

      const next = await services.chat.send(owner, {
        conversationId: first.conversationId,
        content: 'Again',
      });
      await settle(owner, next.generation.id);
      // Refused with nothing written, then read and written; the quota and slot it took first were given back.
      expect(writes()).toEqual(['appendFollowUpTurn', 'turnContext', 'appendTurn']);
      expect([...store.messages.values()].filter((message) => message.content === 'Again')).toHaveLength(1);
      expect((await services.generations.get(owner, next.generation.id)).context.instructions).toBeNull();
      calls.splice(0);

      // What that read showed is what the next follow-up is planned with.
      const third = await services.chat.send(owner, {
        conversationId: first.conversationId,
        content: 'More',
      });
      await settle(owner, third.generation.id);
      expect(writes()).toEqual(['appendFollowUpTurn']);
    });

    it('in a conversation gone since is NOT_FOUND, and gives back the quota it took', async () => {
      const { services } = await watched();
      const owner = userCaller(randomUUID());
      const first = await services.chat.send(owner, { content: 'Hello' });
      await settle(owner, first.generation.id);
      store.conversations.delete(first.conversationId);

      await expect(
        codeOf(services.chat.send(owner, { conversationId: first.conversationId, content: 'Again' })),
      ).resolves.toBe('NOT_FOUND');
      // One reply at a time for this user (QUOTA_CONCURRENT_GENERATIONS=1): the refused send holds none.
      await expect(codeOf(services.chat.send(owner, { content: 'Elsewhere' }))).resolves.toBe('resolved');
    });
  });
});
