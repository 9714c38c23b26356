import { type ExecutionArgs, type ExecutionResult, execute, type GraphQLSchema, parse } from 'graphql';
import { compileEventExecutor } from '../../../common/graphql/compiled-events';
import type { Caller } from '../../../common/identity/caller';
import { GenerationStatus, type GenerationRecord } from '../records/generation.record';
import { buildChatSchema } from '../schema';
import type { FollowedEvent } from '../services/generation.service';
import { GenerationEventType } from '../streams/generation-event';
import { userCaller } from '../testing/chat-config';
import { PLANNED_GENERATION_EVENTS } from '../testing/planned-operations';
import { streamingGeneration } from '../testing/records';

/*
 * The chat subgraph's events, executed by the compiled executor its WebSocket endpoint uses
 * (common/graphql/compiled-events.ts), must be what graphql-js makes of them, byte for byte.
 */

/** Every field an event reaches by reading properties, with aliases, fragments and __typename. */
const EVERYTHING = `subscription Everything($id: ID!, $withContext: Boolean!) {
  event: generation(id: $id) {
    __typename seq type delta error
    message { __typename id }
    generation { ...Generation }
  }
}
fragment Generation on Generation {
  __typename id status model provider startedAt firstTokenAt finishedAt error
  message { id }
  conversation { id }
  usage { promptTokens completionTokens totalTokens estimated }
  context @include(if: $withContext) {
    instructions { aboutMe howToAnswer }
    memories { id text }
    recalled { score message { id } conversation { id } }
  }
}`;

const user = userCaller('u1');
const anonymous: Caller = { ...user, userId: null, role: null };

const streaming = streamingGeneration({
  firstTokenAt: new Date('2026-12-06T09:00:01Z'),
  context: {
    instructions: { aboutMe: 'A reader', howToAnswer: 'Briefly' },
    memories: [{ id: 'mem1', text: 'Likes tea' }],
    recalled: [{ messageId: 'm0', conversationId: 'c0', score: 0.75 }],
  },
});
const finished = (status: GenerationStatus, error: string | null = null): GenerationRecord => ({
  ...streaming,
  status,
  error,
  finishedAt: new Date('2026-12-06T09:00:05Z'),
  usage: { promptTokens: 12, completionTokens: 34, estimated: true },
});

const events: [string, FollowedEvent][] = [
  [
    'START',
    { event: { seq: 1, type: GenerationEventType.START, model: 'offline-1' }, generation: streaming },
  ],
  ['TOKEN', { event: { seq: 2, type: GenerationEventType.TOKEN, delta: ' word' }, generation: streaming }],
  [
    'USAGE',
    {
      event: {
        seq: 3,
        type: GenerationEventType.USAGE,
        promptTokens: 12,
        completionTokens: 34,
        estimated: true,
      },
      generation: { ...streaming, usage: { promptTokens: 12, completionTokens: 34, estimated: true } },
    },
  ],
  [
    'DONE',
    { event: { seq: 4, type: GenerationEventType.DONE }, generation: finished(GenerationStatus.COMPLETE) },
  ],
  [
    'ERROR',
    {
      event: { seq: 4, type: GenerationEventType.ERROR, error: 'The provider failed', interrupted: false },
      generation: finished(GenerationStatus.FAILED, 'The provider failed'),
    },
  ],
  [
    'STOPPED',
    { event: { seq: 4, type: GenerationEventType.STOPPED }, generation: finished(GenerationStatus.STOPPED) },
  ],
  ['HEARTBEAT', { event: { seq: 2, type: GenerationEventType.HEARTBEAT }, generation: streaming }],
];

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildChatSchema();
});

const argsFor = (
  query: string,
  variableValues: Record<string, unknown>,
  caller: Caller = user,
): ExecutionArgs => ({
  schema,
  document: parse(query),
  variableValues,
  contextValue: { caller },
});

async function compiledAndExpected(args: ExecutionArgs, followed: FollowedEvent) {
  const executeEvent = compileEventExecutor(args);
  if (!executeEvent) throw new Error('the selection was not compiled');
  const compiled: ExecutionResult = await executeEvent(followed);
  const expected = await execute({ ...args, rootValue: followed });
  // graphql-js's objects have no prototype, the projector's have: which one served the event.
  const byProjector = compiled.data !== null && Object.getPrototypeOf(compiled.data) !== null;
  return { compiled: JSON.stringify(compiled), expected: JSON.stringify(expected), byProjector };
}

describe('a chat event, compiled', () => {
  it.each(events)(
    '%s as the gateway plans the clients’ document is what graphql-js makes of it',
    async (_, followed) => {
      const { compiled, expected } = await compiledAndExpected(
        argsFor(PLANNED_GENERATION_EVENTS, { id: 'g1', after: 0 }),
        followed,
      );
      expect(compiled).toBe(expected);
      expect(JSON.parse(compiled)).toHaveProperty('data.generation.seq', followed.event.seq);
    },
  );

  it.each(events)('%s with every field it reaches is what graphql-js makes of it', async (_, followed) => {
    for (const withContext of [true, false]) {
      const { compiled, expected, byProjector } = await compiledAndExpected(
        argsFor(EVERYTHING, { id: 'g1', withContext }),
        followed,
      );
      expect(compiled).toBe(expected);
      expect(byProjector).toBe(true);
    }
  });

  it('of `chat`, which sends and streams in one operation, is what graphql-js makes of it', async () => {
    const query = `subscription ($input: SendMessageInput!) { chat(input: $input) { seq type delta generation { status } } }`;
    const args = argsFor(query, { input: { conversationId: 'c1', content: 'Hello' } });
    for (const [, followed] of events) {
      const { compiled, expected, byProjector } = await compiledAndExpected(args, followed);
      expect(compiled).toBe(expected);
      expect(byProjector).toBe(true);
    }
  });

  it('of `chat` with what the send answered on its first event is what graphql-js makes of it', async () => {
    const query = `subscription ($input: SendMessageInput!) {
      chat(input: $input) {
        seq type
        started { conversation { id title } userMessage { id content } generation { id status } }
      }
    }`;
    const args = argsFor(query, { input: { content: 'Hello' } });
    const started = {
      conversation: { id: 'c1', title: 'New conversation' },
      userMessage: { id: 'm1', content: 'Hello' },
      generation: { id: streaming.id, status: GenerationStatus.STREAMING },
    };
    for (const [name, followed] of events) {
      const first = name === 'START';
      const { compiled, expected, byProjector } = await compiledAndExpected(args, {
        ...followed,
        started: first ? started : null,
      } as FollowedEvent);
      expect(compiled).toBe(expected);
      expect(byProjector).toBe(true);
      expect(JSON.parse(compiled).data.chat.started).toEqual(first ? started : null);
    }
  });

  it('for an anonymous caller is graphql-js’s UNAUTHENTICATED error', async () => {
    const { compiled, expected } = await compiledAndExpected(
      argsFor(PLANNED_GENERATION_EVENTS, { id: 'g1' }, anonymous),
      events[1][1],
    );
    expect(compiled).toBe(expected);
    expect(JSON.parse(compiled)).toMatchObject({
      data: null,
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  it('is not compiled when its selection reaches a field resolver (it runs for every event)', () => {
    const query = `subscription ($id: ID!) { generation(id: $id) { seq message { generation { id } } } }`;
    expect(compileEventExecutor(argsFor(query, { id: 'g1' }))).toBeNull();
  });
});
