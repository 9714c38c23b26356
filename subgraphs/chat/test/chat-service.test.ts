import { randomUUID } from 'node:crypto';
import { AppError } from '../../../common/errors/errors';
import type { UserCaller } from '../../../common/identity/caller';
import type { AppendMessageInput } from '../clients/conversation.client';
import type { StoredMessage } from '../records/message.record';
import { MemoryConversationStore } from '../testing/memory-conversation-store';
import type { ChatRuntime } from '../app';
import { userCaller } from '../testing/chat-config';
import { testChatRuntimes } from '../testing/chat-runtime';
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
});
