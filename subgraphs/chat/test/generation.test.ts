import { randomUUID } from 'node:crypto';
import { AppError } from '../../../common/errors/errors';
import type { ConversationClient } from '../clients/conversation.client';
import { MemoryConversationStore } from '../testing/memory-conversation-store';
import { providerErrors } from '../providers/provider';
import { redisKeys } from '../store/redis-keys';
import { GenerationRepository } from '../repositories/generation.repository';
import type { FollowedEvent } from '../services/generation.service';
import { GenerationEventRepository } from '../repositories/generation-event.repository';
import { GenerationEventType } from '../streams/generation-event';
import type { RecallHit, StoredMessage } from '../records/message.record';
import { userCaller } from '../testing/chat-config';
import { drain, testChatRuntimes } from '../testing/chat-runtime';
import { conversationOutage } from '../testing/conversation-outage';
import { interceptCalls } from '../testing/intercepted-calls';
import { testRedis } from '../testing/redis';
import { streamingGeneration } from '../testing/records';
import { ScriptedProvider } from '../testing/scripted-provider';
import { INTERRUPTED_MESSAGE } from '../jobs/generation-recovery';
import { eventually } from '../../../common/testing/wait';

const redisForTest = testRedis('chat_pipeline');

/** Reads a subscription as it goes; `until` resolves once what was read passes `check`. */
function reader(events: AsyncIterable<FollowedEvent>) {
  const read: FollowedEvent[] = [];
  let onRead = null as (() => void) | null;
  const ended = (async () => {
    for await (const followed of events) {
      read.push(followed);
      onRead?.();
    }
  })();
  ended.catch(() => undefined);
  const until = (check: (read: FollowedEvent[]) => boolean) =>
    new Promise<void>((resolve) => {
      const test = () => (check(read) ? resolve() : (onRead = test));
      test();
    });
  const count = (type: GenerationEventType) => read.filter((followed) => followed.event.type === type).length;
  return { read, ended, until, count };
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof AppError ? error.code : String(error)),
  );

describe('the generation pipeline (in-memory conversation store, real Redis)', () => {
  const runtimes = testChatRuntimes(redisForTest.prefix);
  let store: MemoryConversationStore;

  /** A question and a STREAMING reply under it with `content`, as a process that died leaves them. */
  const streamingReply = async (caller: ReturnType<typeof userCaller>, content: string) => {
    const userMessage = await store.appendMessage(caller, {
      conversationId: null,
      parentId: null,
      role: 'USER',
      content: 'Hi',
    });
    const reply = await store.appendMessage(caller, {
      conversationId: userMessage.conversation.id,
      parentId: userMessage.id,
      role: 'ASSISTANT',
      content,
      status: 'STREAMING',
    });
    return { userMessage, reply };
  };

  const start = (
    env: Record<string, string> = {},
    provider?: ScriptedProvider,
    conversations: ConversationClient = store,
  ) => runtimes.start(env, { conversations, ...(provider ? { provider } : {}) });

  beforeEach(() => {
    store = new MemoryConversationStore();
  });
  afterEach(() => runtimes.stopAll());
  afterAll(() => redisForTest.cleanup());

  it('streams START, the tokens, USAGE and DONE, saves the reply, records usage and titles the conversation', async () => {
    const { services } = await start();
    const alice = userCaller(randomUUID());
    const started = await services.chat.send(alice, { content: 'How do I bake sourdough bread at home?' });
    expect(started.generation).toMatchObject({
      status: 'STREAMING',
      model: 'offline/echo',
    });
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'STREAMING',
      content: '',
    });

    const events = await drain(await services.generations.follow(alice, started.generation.id, 0));
    const types = events.map((e) => e.event.type);
    expect(types[0]).toBe('START');
    expect(types.slice(-2)).toEqual(['USAGE', 'DONE']);
    expect(new Set(types.slice(1, -2))).toEqual(new Set(['TOKEN']));
    expect(events.map((e) => e.event.seq)).toEqual(events.map((_, i) => i + 1));
    const reply = events
      .map((e) => (e.event.type === GenerationEventType.TOKEN ? e.event.delta : ''))
      .join('');
    expect(reply).toContain('not a language model');

    const last = events[events.length - 1];
    expect(last.generation).toMatchObject({ status: 'COMPLETE', usage: { estimated: true } });
    const saved = store.messages.get(started.generation.messageId);
    expect(saved).toMatchObject({ status: 'COMPLETE', content: reply, completionTokens: expect.any(Number) });
    expect(await services.generations.get(alice, started.generation.id)).toMatchObject({
      status: 'COMPLETE',
      finishedAt: expect.any(Date),
      firstTokenAt: expect.any(Date),
    });
    await eventually(() =>
      expect(store.conversations.get(started.conversationId)?.title).toBe('How do I bake sourdough bread…'),
    );
    const usage = await services.usage.report(alice, alice.userId, 1);
    expect(usage.today.generations).toBe(1);
    expect(usage.today.completionTokens).toBe(saved?.completionTokens);
  });

  it("names the conversation with the offline model's title in the reply's final save, with no request of its own", async () => {
    const { services } = await start();
    const alice = userCaller(randomUUID());
    const saves = jest.spyOn(store, 'updateMessage');
    const started = await services.chat.send(alice, { content: 'Plan a weekend in Lisbon' });
    await drain(await services.generations.follow(alice, started.generation.id, 0));
    // Titled before DONE: a client that sees it reads the title with the reply.
    expect(store.conversations.get(started.conversationId)?.title).toBe('Plan a weekend in Lisbon');
    const titled = saves.mock.calls.filter(([, input]) => input.conversationTitle !== undefined);
    expect(titled).toHaveLength(1);
    expect(titled[0][1]).toMatchObject({ status: 'COMPLETE', conversationTitle: 'Plan a weekend in Lisbon' });
    saves.mockRestore();
  });

  it("names the conversation with a model's title after the final save, keeping a title its owner gave meanwhile", async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const alice = userCaller(randomUUID());
    const saves = jest.spyOn(store, 'updateMessage');
    const first = await services.chat.send(alice, { content: 'Plan a weekend in Lisbon' });
    const stream = await provider.nextStream();
    stream.text('Day one: Alfama.');
    stream.finish();
    await drain(await services.generations.follow(alice, first.generation.id, 0));
    await eventually(() =>
      expect(store.conversations.get(first.conversationId)?.title).toBe('A scripted title'),
    );
    // The model is asked once the reply is saved: the final save carries no title.
    expect(saves.mock.calls.map(([, input]) => input)).toContainEqual({
      id: first.generation.messageId,
      conversationTitle: 'A scripted title',
    });
    expect(saves.mock.calls.find(([, input]) => input.status)?.[1].conversationTitle).toBeUndefined();

    const second = await services.chat.send(alice, { content: 'Plan a week in Porto' });
    (store.conversations.get(second.conversationId) as { title: string }).title = 'Porto, my way';
    const secondStream = await provider.nextStream();
    secondStream.text('Day one: Ribeira.');
    secondStream.finish();
    await drain(await services.generations.follow(alice, second.generation.id, 0));
    await eventually(() =>
      expect(
        saves.mock.calls.some(
          ([, input]) => input.id === second.generation.messageId && input.conversationTitle,
        ),
      ).toBe(true),
    );
    expect(store.conversations.get(second.conversationId)?.title).toBe('Porto, my way');
    saves.mockRestore();
  });

  it('writes a turn and reads its context in one request, which carries its recall; reads a conversation it does not know first', async () => {
    const calls: Record<string, number> = {};
    const recalls: unknown[] = [];
    const conversations = interceptCalls(store, (method, proceed, args) => {
      calls[method] = (calls[method] ?? 0) + 1;
      if (method === 'appendTurn' || method === 'appendFirstTurn') recalls.push(args[2]);
      if (method === 'appendFollowUpTurn') recalls.push(args[3]);
      return proceed();
    });
    const { services } = await start(
      { RECALL_TIMEOUT_MS: '50', RECALL_LIMIT: '4' },
      undefined,
      conversations,
    );
    const carol = userCaller(randomUUID());
    const first = await services.chat.send(carol, { content: 'Is anybody there?' });
    let events = await drain(await services.generations.follow(carol, first.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe('DONE');
    expect(await services.generations.get(carol, first.generation.id)).toMatchObject({
      context: { instructions: null, memories: [], recalled: [] },
    });
    // A first message has no conversation to own or hold yet: its context is read by its write's request.
    expect(calls).toMatchObject({ appendFirstTurn: 1 });
    expect(calls.turnContext).toBeUndefined();
    expect(calls.appendTurn).toBeUndefined();
    for (const key of Object.keys(calls)) delete calls[key];

    const second = await services.chat.send(carol, {
      conversationId: first.conversationId,
      content: 'Hello?',
    });
    events = await drain(await services.generations.follow(carol, second.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe('DONE');
    // A follow-up in a conversation this process has seen its owner use: one write (the message, the
    // reply's placeholder and the recall beside them), its context (settings, instructions, memories,
    // recall switch, history) read back by the same request, and the reply's saves: no recall request,
    // no history fetch, no separate settings read, no second append.
    expect(calls).toMatchObject({ appendFollowUpTurn: 1 });
    for (const method of ['turnContext', 'appendTurn', 'recallMessages', 'messagePath', 'appendMessage']) {
      expect(calls[method]).toBeUndefined();
    }
    for (const key of Object.keys(calls)) delete calls[key];

    // Another process, which has not seen the conversation: one read (ownership checked before the
    // conversation's slot is taken), then one write.
    const { services: elsewhere } = await start(
      { RECALL_TIMEOUT_MS: '50', RECALL_LIMIT: '4' },
      undefined,
      conversations,
    );
    const third = await elsewhere.chat.send(carol, {
      conversationId: first.conversationId,
      content: 'Still there?',
    });
    events = await drain(await elsewhere.generations.follow(carol, third.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe('DONE');
    expect(calls).toMatchObject({ turnContext: 1, appendTurn: 1 });
    for (const method of ['appendFollowUpTurn', 'recallMessages', 'messagePath', 'appendMessage']) {
      expect(calls[method]).toBeUndefined();
    }
    // Each write asked for RECALL_LIMIT messages within RECALL_TIMEOUT_MS.
    expect(recalls).toEqual([
      { first: 4, budgetMs: 50 },
      { first: 4, budgetMs: 50 },
      { first: 4, budgetMs: 50 },
    ]);
  });

  it('puts what the write recalled into the prompt, and a regenerated reply recalls with a search of its own', async () => {
    const recallableHit: RecallHit = {
      score: 0.9,
      message: {
        id: randomUUID(),
        role: 'USER',
        content: 'My sourdough starter is called Bob',
        conversation: { id: randomUUID(), title: 'Baking' },
      },
    };
    const provider = new ScriptedProvider();
    const conversations = interceptCalls(store, (method, proceed) => {
      if (!['recallMessages', 'appendTurn', 'appendFollowUpTurn'].includes(method)) return proceed();
      return (proceed() as Promise<{ recalled?: RecallHit[] | null }>).then((answer) =>
        Array.isArray(answer) ? [recallableHit] : { ...answer, recalled: [recallableHit] },
      );
    });
    const { services } = await start({}, provider, conversations);
    const erin = userCaller(randomUUID());
    const first = await services.chat.send(erin, { content: 'Where did I put the sourdough recipe?' });
    (await provider.nextStream()).finish();
    await drain(await services.generations.follow(erin, first.generation.id, 0));
    const second = await services.chat.send(erin, {
      conversationId: first.conversationId,
      content: 'And the rye one?',
    });
    (await provider.nextStream()).finish();
    await drain(await services.generations.follow(erin, second.generation.id, 0));
    expect((await services.generations.get(erin, second.generation.id))?.context.recalled).toEqual([
      {
        messageId: recallableHit.message.id,
        conversationId: recallableHit.message.conversation.id,
        score: 0.9,
      },
    ]);
    expect(JSON.stringify(provider.requests[1])).toContain('My sourdough starter is called Bob');

    const again = await services.chat.regenerate(erin, second.generation.messageId);
    (await provider.nextStream()).finish();
    await drain(await services.generations.follow(erin, again.id, 0));
    expect(JSON.stringify(provider.requests[2])).toContain('My sourdough starter is called Bob');
  });

  it('recalls nothing for a user who turned recall off, and asks for no recall once their switch is read', async () => {
    let recallsAsked = 0;
    const conversations = interceptCalls(store, (method, proceed, args) => {
      const recall = method === 'appendFollowUpTurn' ? args[3] : args[2];
      if (method === 'recallMessages' || recall) recallsAsked++;
      return proceed();
    });
    const { services } = await start({}, undefined, conversations);
    const dana = userCaller(randomUUID());
    await services.chat.send(dana, { content: 'My sourdough recipe uses rye flour' });
    store.recallOff.add(dana.userId);

    // A first message's recall is asked before the owner's switch is read; the conversation subgraph
    // keeps the switch, and chat drops whatever came back once the switch is known.
    const started = await services.chat.send(dana, { content: 'What was my sourdough recipe?' });
    let events = await drain(await services.generations.follow(dana, started.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe('DONE');
    expect(await services.generations.get(dana, started.generation.id)).toMatchObject({
      context: { recalled: [] },
    });
    recallsAsked = 0;
    const next = await services.chat.send(dana, {
      conversationId: started.conversationId,
      content: 'And the rye one?',
    });
    events = await drain(await services.generations.follow(dana, next.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe('DONE');
    expect(recallsAsked).toBe(0);
  });

  it("drops a first message's recall when its owner's switch is off, whatever the search answered", async () => {
    // A write that recalls regardless of the switch (as a conversation subgraph older than chat
    // would): it always answers with frank's earlier message.
    const recallable: StoredMessage[] = [];
    const conversations = interceptCalls(store, (method, proceed) =>
      method === 'appendFirstTurn'
        ? (proceed() as Promise<object>).then((turn) => ({
            ...turn,
            recalled: recallable.map((message) => ({ score: 1, message })),
          }))
        : proceed(),
    );
    const { services } = await start({}, undefined, conversations);
    const frank = userCaller(randomUUID());
    const first = await services.chat.send(frank, { content: 'My sourdough recipe uses rye flour' });
    await drain(await services.generations.follow(frank, first.generation.id, 0));
    recallable.push(first.userMessage);
    const recalledWith = async () => {
      const started = await services.chat.send(frank, { content: 'What was my sourdough recipe?' });
      const events = await drain(await services.generations.follow(frank, started.generation.id, 0));
      expect(events.at(-1)?.event.type).toBe('DONE');
      return (await services.generations.get(frank, started.generation.id))?.context.recalled;
    };
    expect(await recalledWith()).not.toEqual([]);
    store.recallOff.add(frank.userId);
    expect(await recalledWith()).toEqual([]);
  });

  it('sends the history of the branch it answers, oldest first', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const bob = userCaller(randomUUID());
    const first = await services.chat.send(bob, { content: 'My name is Bob.' });
    const firstStream = await provider.nextStream();
    firstStream.text('Hello Bob!');
    firstStream.finish();
    await drain(await services.generations.follow(bob, first.generation.id, 0));
    await services.chat.send(bob, { conversationId: first.conversationId, content: 'What is my name?' });
    (await provider.nextStream()).finish();
    expect(provider.requests[1].messages).toEqual([
      { role: 'user', content: 'My name is Bob.' },
      { role: 'assistant', content: 'Hello Bob!' },
      { role: 'user', content: 'What is my name?' },
    ]);
  });

  it('checkpoints the reply to the conversation while it streams, and goes on when nobody listens', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const carol = userCaller(randomUUID());
    const started = await services.chat.send(carol, { content: 'Tell me a story' });
    const stream = await provider.nextStream();
    stream.text('Once upon ');
    stream.text('a time');
    await eventually(() =>
      expect(store.messages.get(started.generation.messageId)).toMatchObject({
        status: 'STREAMING',
        content: 'Once upon a time',
      }),
    );
    stream.text(', the end.');
    stream.finish();
    await eventually(() =>
      expect(store.messages.get(started.generation.messageId)).toMatchObject({
        status: 'COMPLETE',
        content: 'Once upon a time, the end.',
      }),
    );
  });

  it('stops on request, saving the partial reply as STOPPED', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const dave = userCaller(randomUUID());
    const started = await services.chat.send(dave, { content: 'Count to a million' });
    const stream = await provider.nextStream();
    stream.text('1, 2, ');
    stream.text('3, ');
    const events = services.generations.follow(dave, started.generation.id, 0).then(drain);
    await eventually(() =>
      expect(store.messages.get(started.generation.messageId)?.content).toBe('1, 2, 3, '),
    );
    const stopped = await services.generations.stop(dave, started.generation.id);
    expect(stopped.status).toBe('STOPPED');
    expect((await events).map((e) => e.event.type).slice(-2)).toEqual(['USAGE', 'STOPPED']);
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'STOPPED',
      content: '1, 2, 3, ',
    });
  });

  it('stops a generation asked to stop before its first token', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const dora = userCaller(randomUUID());
    const started = await services.chat.send(dora, { content: 'Never mind' });
    // The model was asked and has sent nothing yet.
    await provider.nextStream();
    const stopped = await services.generations.stop(dora, started.generation.id);
    expect(stopped.status).toBe('STOPPED');
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'STOPPED',
      content: '',
    });
  });

  it('saves a provider failure as FAILED, with the reason and the reply so far', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const erin = userCaller(randomUUID());
    const started = await services.chat.send(erin, { content: 'Something edgy' });
    const stream = await provider.nextStream();
    stream.text('Well, ');
    stream.fail(providerErrors.blocked('SAFETY'));
    const events = await drain(await services.generations.follow(erin, started.generation.id, 0));
    const last = events[events.length - 1];
    expect(last.event).toMatchObject({
      type: 'ERROR',
      error: 'The model provider blocked this reply (SAFETY)',
    });
    expect(last.generation).toMatchObject({
      status: 'FAILED',
      error: 'The model provider blocked this reply (SAFETY)',
    });
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'FAILED',
      content: 'Well, ',
    });
  });

  it('saves running generations as INTERRUPTED when shutdown outlasts the grace period', async () => {
    const provider = new ScriptedProvider();
    const runtime = await start({ SHUTDOWN_GRACE_MS: '0' }, provider);
    const frank = userCaller(randomUUID());
    const started = await runtime.services.chat.send(frank, { content: 'Write an essay' });
    (await provider.nextStream()).text('Chapter one');
    await eventually(() =>
      expect(store.messages.get(started.generation.messageId)?.content).toBe('Chapter one'),
    );
    await runtime.stop();
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'INTERRUPTED',
      content: 'Chapter one',
    });
  });

  it('refuses a second concurrent generation in one conversation, and reveals nothing to another user', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({}, provider);
    const grace = userCaller(randomUUID());
    const started = await services.chat.send(grace, { content: 'First' });
    const stream = await provider.nextStream();
    const again = services.chat.send(grace, { conversationId: started.conversationId, content: 'Second' });
    await expect(again).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'conversationId' },
    });
    const mallory = userCaller(randomUUID());
    expect(
      await codeOf(services.chat.send(mallory, { conversationId: started.conversationId, content: 'Hi' })),
    ).toBe('NOT_FOUND');
    expect(await codeOf(services.generations.follow(mallory, started.generation.id, 0))).toBe('NOT_FOUND');
    expect(await codeOf(services.generations.stop(mallory, started.generation.id))).toBe('NOT_FOUND');
    expect(await codeOf(services.chat.regenerate(mallory, started.generation.messageId))).toBe('NOT_FOUND');
    stream.finish();
  });

  it("stores a first reply's record and its hold on the new conversation in one transaction, refusing a slot already held", async () => {
    const runtime = await start();
    const generations = new GenerationRepository(runtime.redis, 3_600);
    const sam = userCaller(randomUUID());
    const conversationId = randomUUID();
    const first = streamingGeneration({ id: randomUUID(), userId: sam.userId, conversationId });
    await generations.createInNewConversation(first, 60_000);
    expect(await generations.get(first.id)).toMatchObject({ id: first.id, status: 'STREAMING' });
    expect(await runtime.redis.zscore(redisKeys.unsettled, first.id)).not.toBeNull();
    // The slot is the first reply's: claiming it for another generation names the holder.
    expect(
      await generations.claimConversation(conversationId, sam.userId, randomUUID(), 60_000),
    ).toMatchObject({
      userId: sam.userId,
      generationId: first.id,
    });
    const second = streamingGeneration({ id: randomUUID(), userId: sam.userId, conversationId });
    await expect(generations.createInNewConversation(second, 60_000)).rejects.toThrow(/already held/);
    expect(
      await generations.claimConversation(conversationId, sam.userId, randomUUID(), 60_000),
    ).toMatchObject({
      generationId: first.id,
    });
  });

  it('limits concurrent generations per user, with QUOTA_EXCEEDED naming the limit', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({ QUOTA_CONCURRENT_GENERATIONS: '1' }, provider);
    const heidi = userCaller(randomUUID());
    await services.chat.send(heidi, { content: 'One' });
    const stream = await provider.nextStream();
    await expect(services.chat.send(heidi, { content: 'Two' })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'CONCURRENT_GENERATIONS', limit: 1 },
    });
    stream.finish();
    await eventually(async () =>
      expect((await services.usage.report(heidi, heidi.userId, 1)).activeGenerations).toBe(0),
    );
    await expect(services.chat.send(heidi, { content: 'Three' })).resolves.toBeDefined();
    (await provider.nextStream()).finish();
  });

  it('gives the quota back when the conversation is busy, and the conversation back when the quota is spent', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({ QUOTA_CONCURRENT_GENERATIONS: '2' }, provider);
    const ivan = userCaller(randomUUID());
    const busy = await services.chat.send(ivan, { content: 'One' });
    const first = await provider.nextStream();
    const idle = await services.chat.send(ivan, { content: 'Two' });
    (await provider.nextStream()).finish();
    await eventually(async () =>
      expect((await services.usage.report(ivan, ivan.userId, 1)).activeGenerations).toBe(1),
    );
    // Refused for the busy conversation: the quota it was admitted to is free again.
    await expect(
      services.chat.send(ivan, { conversationId: busy.conversationId, content: 'Again' }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'conversationId' } });
    expect((await services.usage.report(ivan, ivan.userId, 1)).activeGenerations).toBe(1);
    // One more reply fills the quota; a send into the idle conversation is refused for it, and
    // leaves that conversation free once the quota is.
    const third = services.chat.send(ivan, { content: 'Three' });
    await third;
    const thirdStream = await provider.nextStream();
    await expect(
      services.chat.send(ivan, { conversationId: idle.conversationId, content: 'Four' }),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    first.finish();
    thirdStream.finish();
    await eventually(async () =>
      expect((await services.usage.report(ivan, ivan.userId, 1)).activeGenerations).toBe(0),
    );
    await expect(
      services.chat.send(ivan, { conversationId: idle.conversationId, content: 'Five' }),
    ).resolves.toBeDefined();
    (await provider.nextStream()).finish();
  });

  it('limits tokens per day, with QUOTA_EXCEEDED and when it resets', async () => {
    const provider = new ScriptedProvider();
    const { services } = await start({ QUOTA_DAILY_TOKENS: '100' }, provider);
    const ivan = userCaller(randomUUID());
    const started = await services.chat.send(ivan, { content: 'Use many tokens' });
    const stream = await provider.nextStream();
    stream.text('Plenty.');
    stream.finish({ promptTokens: 60, completionTokens: 50 });
    await drain(await services.generations.follow(ivan, started.generation.id, 0));
    await eventually(async () =>
      expect((await services.usage.report(ivan, ivan.userId, 1)).dailyTokensRemaining).toBe(0),
    );
    await expect(services.chat.send(ivan, { content: 'More' })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'DAILY_TOKENS', limit: 100, resetsAt: expect.any(String) },
    });
    // The concurrency slot taken beside the day's tokens went back with the refusal.
    expect((await services.usage.report(ivan, ivan.userId, 1)).activeGenerations).toBe(0);
  });

  it('regenerates as a sibling of the reply and edits as a sibling of the message', async () => {
    const { services } = await start();
    const judy = userCaller(randomUUID());
    const first = await services.chat.send(judy, { content: 'Hello' });
    await drain(await services.generations.follow(judy, first.generation.id, 0));
    const second = await services.chat.send(judy, {
      conversationId: first.conversationId,
      content: 'Tell me a joke',
    });
    await drain(await services.generations.follow(judy, second.generation.id, 0));

    const regenerated = await services.chat.regenerate(judy, second.generation.messageId);
    await drain(await services.generations.follow(judy, regenerated.id, 0));
    expect(store.messages.get(regenerated.messageId)?.parentId).toBe(second.userMessage.id);
    expect(regenerated.messageId).not.toBe(second.generation.messageId);

    const edited = await services.chat.edit(judy, second.userMessage.id, 'Tell me a pun');
    await drain(await services.generations.follow(judy, edited.generation.id, 0));
    expect(edited.userMessage).toMatchObject({
      parentId: second.userMessage.parentId,
      content: 'Tell me a pun',
    });
    expect(store.messages.get(edited.generation.messageId)).toMatchObject({
      parentId: edited.userMessage.id,
      status: 'COMPLETE',
    });
  });

  it('settles a generation whose process died: INTERRUPTED, with the reply from its event stream', async () => {
    const runtime = await start({ GENERATION_LEASE_MS: '150' });
    const kim = userCaller(randomUUID());
    // What a process that died mid-reply leaves behind: a STREAMING message, a record whose
    // lease nobody renews, and the events it had written.
    const { userMessage, reply: assistant } = await streamingReply(kim, 'Hel');
    const generationId = randomUUID();
    const generations = new GenerationRepository(runtime.redis, 3_600);
    const log = new GenerationEventRepository(runtime.redis, {
      maxLength: 100,
      liveTtlSeconds: 600,
      finishedTtlSeconds: 60,
    });
    await generations.create(
      streamingGeneration({
        id: generationId,
        userId: kim.userId,
        conversationId: userMessage.conversation.id,
        messageId: assistant.id,
        parentMessageId: userMessage.id,
      }),
      1,
    );
    await log.append(generationId, 0, [{ seq: 1, type: GenerationEventType.START, model: 'm' }]);
    await log.append(generationId, 1, [{ seq: 2, type: GenerationEventType.TOKEN, delta: 'Hello the' }]);
    const following = runtime.services.generations.follow(kim, generationId, 0).then(drain);

    await eventually(async () => expect(await runtime.recovery.sweep()).toBe(1));
    expect(store.messages.get(assistant.id)).toMatchObject({ status: 'INTERRUPTED', content: 'Hello the' });
    const events = await following;
    expect(events[events.length - 1].event).toEqual({
      seq: 3,
      type: 'ERROR',
      error: INTERRUPTED_MESSAGE,
      interrupted: true,
    });
    expect(events[events.length - 1].generation.status).toBe('INTERRUPTED');
    expect(await runtime.redis.zscore(redisKeys.unsettled, generationId)).toBeNull();
  });

  it('ends as INTERRUPTED a STREAMING reply with no generation left, once it is older than two leases, keeping its content', async () => {
    const runtime = await start({ GENERATION_LEASE_MS: '150' });
    const noor = userCaller(randomUUID());
    // What Redis losing its data leaves once the process that wrote the reply is gone too: a
    // STREAMING message with the content its last checkpoint saved, and nothing in Redis.
    const { reply: orphan } = await streamingReply(noor, 'Checkpointed so far');
    // Written a moment ago, its generation may still be on its way: left alone.
    expect(await runtime.recovery.reconcileMessages()).toMatchObject({ interrupted: 0 });
    expect(store.messages.get(orphan.id)?.status).toBe('STREAMING');
    (store.messages.get(orphan.id) as { createdAt: Date }).createdAt = new Date(Date.now() - 400);
    expect(await runtime.recovery.reconcileMessages()).toMatchObject({ interrupted: 1 });
    expect(store.messages.get(orphan.id)).toMatchObject({
      status: 'INTERRUPTED',
      content: 'Checkpointed so far',
    });
    // A reply with a generation is the sweep's to settle, never interrupted from here.
    const started = await runtime.services.chat.send(noor, { content: 'Another question' });
    (store.messages.get(started.generation.messageId) as { createdAt: Date }).createdAt = new Date(0);
    expect(await runtime.recovery.reconcileMessages()).toMatchObject({ interrupted: 0 });
    await drain(await runtime.services.generations.follow(noor, started.generation.id, 0));
    expect(store.messages.get(started.generation.messageId)?.status).toBe('COMPLETE');
  });

  it('lets a process that was only slow, not dead, find its generation settled and write nothing more', async () => {
    const provider = new ScriptedProvider();
    // The lease runs out between two heartbeats: the process looks dead to the other replica.
    const slow = await start({ CHECKPOINT_INTERVAL_MS: '60000', GENERATION_LEASE_MS: '180000' }, provider);
    const other = await start();
    const liam = userCaller(randomUUID());
    const started = await slow.services.chat.send(liam, { content: 'Hi' });
    const stream = await provider.nextStream();
    stream.text('Partial');
    const log = new GenerationEventRepository(other.redis, {
      maxLength: 100,
      liveTtlSeconds: 600,
      finishedTtlSeconds: 60,
    });
    await eventually(async () => expect(await log.replyText(started.generation.id)).toBe('Partial'));
    // A subscriber in the slow process, which got the events from its own writer so far.
    const watchingHere = slow.services.generations.follow(liam, started.generation.id, 0).then(drain);
    await slow.redis.zadd(redisKeys.unsettled, 0, started.generation.id);
    expect(await other.recovery.sweep()).toBe(1);
    stream.text(' and more');
    stream.finish();
    const events = await drain(await other.services.generations.follow(liam, started.generation.id, 0));
    expect(events.map((e) => e.event.type)).toEqual(['START', 'TOKEN', 'ERROR']);
    // Once its writer finds the generation taken over, the stream is read from Redis again: the
    // subscriber there gets the other replica's end, and nothing the slow process no longer writes.
    expect((await watchingHere).map((e) => e.event)).toEqual(events.map((e) => e.event));
    await eventually(() => expect(slow.supervisor.count).toBe(0));
    expect(store.messages.get(started.generation.messageId)).toMatchObject({
      status: 'INTERRUPTED',
      content: 'Partial',
    });
  });

  it('lets a subscriber that reads slowly have the whole reply, with no error, long after it ended', async () => {
    const { services } = await start({
      GENERATION_LEASE_MS: '60',
      HEARTBEAT_INTERVAL_MS: '20',
      STREAM_STALL_TIMEOUT_MS: '100',
    });
    const frank = userCaller(randomUUID());
    const started = await services.chat.send(frank, { content: 'A reply to read later' });
    const events = await services.generations.follow(frank, started.generation.id, 0);
    const first = await events[Symbol.asyncIterator]().next();
    await eventually(async () =>
      expect((await services.generations.get(frank, started.generation.id)).status).toBe('COMPLETE'),
    );

    // Past the lease and the stall timeout, with the rest of the reply still unread.
    await new Promise((resolve) => setTimeout(resolve, 400));

    const rest = await drain(events);
    expect(first.value.event.type).toBe('START');
    expect(rest.at(-1)?.event.type).toBe('DONE');
  });

  it('completes at once when `after` is the last event of a finished reply, and refuses an `after` past it', async () => {
    const { services } = await start();
    const gus = userCaller(randomUUID());
    const started = await services.chat.send(gus, { content: 'Short and done' });
    const id = started.generation.id;
    const all = await drain(await services.generations.follow(gus, id, 0));
    const lastSeq = all[all.length - 1].event.seq;
    expect(await drain(await services.generations.follow(gus, id, lastSeq))).toEqual([]);
    await expect(services.generations.follow(gus, id, lastSeq + 1)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'after' },
    });
  });

  describe('when the conversation subgraph is away', () => {
    it('sends DONE only once the reply is saved, with heartbeats while the save is retried', async () => {
      const provider = new ScriptedProvider();
      const outage = conversationOutage(store);
      const { services } = await start({ HEARTBEAT_INTERVAL_MS: '100' }, provider, outage.store);
      const ann = userCaller(randomUUID());
      const started = await services.chat.send(ann, { content: 'Save me' });
      const stream = await provider.nextStream();
      stream.text('Saved ');
      const following = reader(await services.generations.follow(ann, started.generation.id, 0));
      await following.until(() => following.count(GenerationEventType.TOKEN) === 1);
      outage.refuse();
      stream.text('at last');
      stream.finish();
      await following.until(() => following.count(GenerationEventType.HEARTBEAT) >= 3);
      expect(following.count(GenerationEventType.DONE)).toBe(0);
      expect(store.messages.get(started.generation.messageId)?.status).toBe('STREAMING');

      outage.restore();
      await following.ended;
      const events = following.read.map((followed) => followed.event);
      expect(events.filter((event) => event.type === GenerationEventType.HEARTBEAT)).toEqual(
        Array(following.count(GenerationEventType.HEARTBEAT)).fill({ seq: 3, type: 'HEARTBEAT' }),
      );
      expect(
        events.filter((event) => event.type !== GenerationEventType.HEARTBEAT).map((e) => e.type),
      ).toEqual(['START', 'TOKEN', 'TOKEN', 'USAGE', 'DONE']);
      expect(store.messages.get(started.generation.messageId)).toMatchObject({
        status: 'COMPLETE',
        content: 'Saved at last',
      });
    });

    it('past the save deadline, lets its subscribers go with UPSTREAM_UNAVAILABLE and leaves the save to recovery', async () => {
      const provider = new ScriptedProvider();
      const outage = conversationOutage(store);
      const runtime = await start(
        { FINAL_SAVE_DEADLINE_MS: '300', HEARTBEAT_INTERVAL_MS: '100' },
        provider,
        outage.store,
      );
      const bea = userCaller(randomUUID());
      const started = await runtime.services.chat.send(bea, { content: 'Almost' });
      const id = started.generation.id;
      const stream = await provider.nextStream();
      stream.text('Nearly there');
      const following = reader(await runtime.services.generations.follow(bea, id, 0));
      await following.until(() => following.count(GenerationEventType.TOKEN) === 1);
      outage.refuse();
      stream.finish();
      await expect(following.ended).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        details: { dependency: 'conversation' },
      });

      outage.restore();
      await eventually(async () => expect(await runtime.recovery.sweep()).toBe(1));
      const rest = await drain(await runtime.services.generations.follow(bea, id, 2));
      expect(rest.map((followed) => followed.event.type)).toEqual(['USAGE', 'DONE']);
      expect(store.messages.get(started.generation.messageId)).toMatchObject({
        status: 'COMPLETE',
        content: 'Nearly there',
        completionTokens: expect.any(Number),
      });
      expect(await runtime.services.generations.get(bea, id)).toMatchObject({
        status: 'COMPLETE',
        usage: { estimated: true },
      });
    });

    it('on shutdown, hands a reply still waiting for its save to recovery rather than wait', async () => {
      const provider = new ScriptedProvider();
      const outage = conversationOutage(store);
      const runtime = await start({ SHUTDOWN_GRACE_MS: '0' }, provider, outage.store);
      const dee = userCaller(randomUUID());
      const started = await runtime.services.chat.send(dee, { content: 'Last words' });
      const stream = await provider.nextStream();
      stream.text('Goodbye');
      const following = reader(await runtime.services.generations.follow(dee, started.generation.id, 0));
      await following.until(() => following.count(GenerationEventType.TOKEN) === 1);
      outage.refuse();
      stream.finish();
      await runtime.stop();
      const generations = new GenerationRepository(await redisForTest.connect(), 3_600);
      expect(await generations.leaseStates([started.generation.id])).toEqual(['released']);
      expect(await generations.get(started.generation.id)).toMatchObject({ status: 'COMPLETE' });
    });

    it('keeps its lease while checkpoints hang, so no other replica would take the reply over', async () => {
      const provider = new ScriptedProvider();
      const outage = conversationOutage(store);
      const runtime = await start(
        { GENERATION_LEASE_MS: '1000', CHECKPOINT_INTERVAL_MS: '50' },
        provider,
        outage.store,
      );
      const cy = userCaller(randomUUID());
      const started = await runtime.services.chat.send(cy, { content: 'Patience' });
      const id = started.generation.id;
      const stream = await provider.nextStream();
      stream.text('Waiting ');
      await eventually(() =>
        expect(store.messages.get(started.generation.messageId)?.content).toBe('Waiting '),
      );
      outage.hang();
      stream.text('for the database');
      // Three leases without a checkpoint landing: a lease renewed only at checkpoints would lapse,
      // and recovery on any replica would claim the generation (its unsettled score in the past).
      const generations = new GenerationRepository(runtime.redis, 3_600);
      for (const until = Date.now() + 3_000; Date.now() < until; ) {
        expect(await generations.leaseStates([id])).toEqual(['live']);
        expect(Number(await runtime.redis.zscore(redisKeys.unsettled, id))).toBeGreaterThan(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      outage.restore();
      stream.finish();
      const events = await drain(await runtime.services.generations.follow(cy, id, 0));
      expect(events.at(-1)?.event.type).toBe('DONE');
      expect(store.messages.get(started.generation.messageId)).toMatchObject({
        status: 'COMPLETE',
        content: 'Waiting for the database',
      });
    });
  });
});
