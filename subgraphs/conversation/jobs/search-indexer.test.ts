import { eventually } from '../../../common/testing/wait';
import { append, type Client, dataOf, type Harness, startConversationHarness } from '../testing/harness';
import { startTestIndexer, type TestIndexer } from '../testing/indexer';
import { retryDelay } from './search-indexer';

describe('retryDelay', () => {
  it('doubles with each attempt, with jitter in the upper half, up to the maximum', () => {
    expect(retryDelay(1, 60_000, () => 0)).toBe(250);
    expect(retryDelay(1, 60_000, () => 1)).toBe(500);
    expect(retryDelay(3, 60_000, () => 1)).toBe(2000);
    expect(retryDelay(40, 30_000, () => 1)).toBe(30_000);
    expect(retryDelay(40, 30_000, () => 0)).toBe(15_000);
  });
});

const UPDATE = `mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { id } }`;

describe('the search outbox and its indexer', () => {
  let harness: Harness;
  let user: Client;
  let test: TestIndexer;

  beforeAll(async () => {
    // The subgraph's own indexer is off: these tests run the rounds themselves.
    harness = await startConversationHarness('search indexer', {
      route: 'subgraph',
      env: { SEARCH_INDEXER_ENABLED: 'false' },
    });
    user = await harness.newUser();
    test = await startTestIndexer(harness);
  });
  afterAll(async () => {
    await test?.close();
    await harness?.stop();
  });
  beforeEach(async () => {
    test.failing.error = null;
    await test.indexer.drain();
    test.calls.length = 0;
  });

  const save = (id: string, input: Record<string, unknown>) =>
    harness.chatFor(user.userId).request(UPDATE, { input: { id, ...input } });
  const queued = async () => (await test.outbox()).map((entry) => entry.message_id);

  it('queues a saved message once it is final with some content, again only when that changes', async () => {
    const reply = await append(harness, user, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
    dataOf(await save(reply.id, { content: 'Once upon' }));
    expect(await queued()).toEqual([]);
    dataOf(await save(reply.id, { content: 'Once upon a time.', status: 'COMPLETE', completionTokens: 5 }));
    expect(await queued()).toEqual([reply.id]);
    dataOf(await save(reply.id, { promptTokens: 12 }));
    dataOf(await save(reply.id, { content: 'Once upon a time.', status: 'COMPLETE' }));
    expect((await save(reply.id, { content: 'late checkpoint' })).errors).toHaveLength(1);
    expect(await queued()).toEqual([reply.id]);

    const blank = await append(harness, user, { role: 'ASSISTANT', content: '', status: 'STREAMING' });
    dataOf(await save(blank.id, { content: ' \n ', status: 'STOPPED' }));
    expect(await queued()).toEqual([reply.id]);
  });

  it('applies due entries in the order they were written, and then they are gone', async () => {
    const first = await append(harness, user, { content: 'first' });
    const second = await append(harness, user, { content: 'second' });
    expect(await test.indexer.runOnce()).toBe(2);
    expect(test.calls).toEqual([
      { upserted: [first.id, second.id], removedMessages: [], removedConversations: [] },
    ]);
    expect(await test.outbox()).toEqual([]);
  });

  it('removes what is gone: a deleted conversation and the messages it held', async () => {
    const message = await append(harness, user, { content: 'soon gone' });
    const conversationId = message.conversation.id;
    dataOf(await user.request(`mutation($id: ID!) { deleteConversation(id: $id) }`, { id: conversationId }));
    expect(await test.indexer.runOnce()).toBe(2);
    expect(test.calls).toEqual([
      { upserted: [], removedMessages: [message.id], removedConversations: [conversationId] },
    ]);
  });

  it('puts entries off with backoff while indexing fails, and applies them afterwards', async () => {
    const message = await append(harness, user, { content: 'retry me' });
    test.failing.error = new Error('embedding model unreachable');
    expect(await test.indexer.runOnce()).toBe(0);
    expect(await test.outbox()).toEqual([{ message_id: message.id, attempts: 1, due: false }]);
    test.failing.error = null;
    // Due again after the first retry's delay (at most 500 ms).
    await eventually(async () => expect(await test.indexer.runOnce()).toBe(1));
    expect(test.calls).toEqual([{ upserted: [message.id], removedMessages: [], removedConversations: [] }]);
    expect(await test.outbox()).toEqual([]);
  });

  it('lets one indexer work at a time: another finds the lock taken and takes nothing', async () => {
    const other = await startTestIndexer(harness);
    try {
      const first = await append(harness, user, { content: 'one' });
      const held = test.holdNextRound();
      const round = test.indexer.runOnce();
      await held.reached;
      const second = await append(harness, user, { content: 'two' });
      expect(await other.indexer.runOnce()).toBe(0);
      held.release();
      expect(await round).toBe(1);
      expect(test.calls.map((call) => call.upserted)).toEqual([[first.id]]);
      expect(await other.indexer.runOnce()).toBe(1);
      expect(other.calls.map((call) => call.upserted)).toEqual([[second.id]]);
    } finally {
      await other.close();
    }
  });

  it('starts a round the wake delay after a write, or at once when a batch of writes has woken it', async () => {
    const waiting = await startTestIndexer(harness, { wakeDelayMs: 60_000, batchSize: 3 });
    const prompt = await startTestIndexer(harness, { wakeDelayMs: 300 });
    // A loop's first round runs when it starts and finds nothing; the writes come after it.
    const startIdle = async (test: TestIndexer) => {
      test.indexer.start();
      await new Promise((resolve) => setTimeout(resolve, 150));
    };
    try {
      await startIdle(waiting);
      const first = await append(harness, user, { content: 'first of three' });
      waiting.indexer.wake();
      const second = await append(harness, user, { content: 'second of three' });
      waiting.indexer.wake();
      // Two wakes of a batch of three: the round waits for its delay (a minute here).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(waiting.calls).toEqual([]);
      const third = await append(harness, user, { content: 'third of three' });
      waiting.indexer.wake();
      await eventually(() =>
        expect(waiting.calls.map((call) => call.upserted)).toEqual([[first.id, second.id, third.id]]),
      );
      await waiting.indexer.stop();

      await startIdle(prompt);
      const message = await append(harness, user, { content: 'one alone' });
      const wokenAt = Date.now();
      prompt.indexer.wake();
      await eventually(() => expect(prompt.calls.map((call) => call.upserted)).toEqual([[message.id]]));
      expect(Date.now() - wokenAt).toBeGreaterThanOrEqual(290);
    } finally {
      await waiting.indexer.stop();
      await prompt.indexer.stop();
      await waiting.close();
      await prompt.close();
    }
  });
});
