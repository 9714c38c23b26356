import {
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLEnumType,
  GraphQLID,
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  parse,
  subscribe,
} from 'graphql';
import { compileEventExecutor, subscribeWithCompiledEvents } from './compiled-events';

/*
 * Every event must come out of the compiled executor exactly as graphql-js's `execute` makes it:
 * the same JSON (key order included), the same errors with the same original errors, the root
 * field's resolver called once. What the projector cannot vouch for is handed to graphql-js.
 */

const Kind = new GraphQLEnumType({ name: 'Kind', values: { TOKEN: {}, DONE: { value: 'done' } } });

/** A scalar with a serializer that refuses what is not a Date, as custom scalars do. */
const Stamp = new GraphQLScalarType({
  name: 'Stamp',
  serialize: (value) => {
    if (!(value instanceof Date)) throw new TypeError('Stamp cannot represent a non-Date value');
    return value.toISOString();
  },
});

const Usage = new GraphQLObjectType({
  name: 'Usage',
  fields: { prompt: { type: new GraphQLNonNull(GraphQLInt) }, completion: { type: GraphQLInt } },
});

const Part = new GraphQLObjectType({
  name: 'Part',
  fields: {
    text: { type: new GraphQLNonNull(GraphQLString) },
    tags: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
  },
});

const Node = new GraphQLInterfaceType({ name: 'Node', fields: { id: { type: GraphQLID } } });
const Thing = new GraphQLObjectType({
  name: 'Thing',
  interfaces: [Node],
  fields: { id: { type: GraphQLID } },
});
const Checked = new GraphQLObjectType({
  name: 'Checked',
  isTypeOf: () => true,
  fields: { id: { type: GraphQLID } },
});

const Event = new GraphQLObjectType({
  name: 'Event',
  fields: {
    seq: { type: new GraphQLNonNull(GraphQLInt) },
    kind: { type: new GraphQLNonNull(Kind) },
    delta: { type: GraphQLString },
    at: { type: Stamp },
    usage: { type: Usage },
    parts: { type: new GraphQLList(new GraphQLNonNull(Part)) },
    grid: { type: new GraphQLList(new GraphQLList(GraphQLInt)) },
    shouted: { type: GraphQLString, resolve: (event: { delta?: string }) => event.delta?.toUpperCase() },
    padded: { type: GraphQLString, args: { width: { type: GraphQLInt } } },
    node: { type: Node, resolve: () => ({ id: 'n1' }) },
    checked: { type: Checked },
  },
});

type Payload = Record<string, unknown>;

/** How the root field resolves each event: the payload itself, or what the test says. */
let resolveRoot: (payload: Payload) => unknown;
let rootCalls: { payload: Payload; args: Record<string, unknown> }[];

/** What each subscription's source stream yields. */
let streamed: Payload[] = [];
let sourceClosed = false;

async function* source() {
  try {
    yield* streamed;
  } finally {
    sourceClosed = true;
  }
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ping: { type: GraphQLString } } }),
  types: [Thing],
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      event: {
        type: new GraphQLNonNull(Event),
        args: { id: { type: new GraphQLNonNull(GraphQLID) }, after: { type: GraphQLInt, defaultValue: 0 } },
        subscribe: source,
        resolve: (payload: Payload, args: Record<string, unknown>) => {
          rootCalls.push({ payload, args });
          return resolveRoot(payload);
        },
      },
      maybeEvent: { type: Event, subscribe: source, resolve: (payload: Payload) => resolveRoot(payload) },
      word: { type: GraphQLString, subscribe: source },
    },
  }),
});

beforeEach(() => {
  resolveRoot = (payload) => payload;
  rootCalls = [];
  streamed = [];
  sourceClosed = false;
});

const argsFor = (query: string, variableValues: Record<string, unknown> = { id: 'g1' }): ExecutionArgs => ({
  schema,
  document: parse(query),
  variableValues,
  contextValue: { caller: 'u1' },
});

/** What goes on the wire: the JSON, key order included. */
const wire = (result: unknown) => JSON.stringify(result);

/** The compiled executor's result and graphql-js's for one event, with the root calls of each. */
async function bothFor(args: ExecutionArgs, event: Payload) {
  const executeEvent = compileEventExecutor(args);
  if (!executeEvent) throw new Error('the selection was not compiled');
  rootCalls = [];
  const compiled = await executeEvent(event);
  const compiledCalls = rootCalls.length;
  rootCalls = [];
  const expected = await execute({ ...args, rootValue: event });
  return { compiled, expected, compiledCalls, expectedCalls: rootCalls.length };
}

/**
 * Which executor made a result: graphql-js builds its objects without a prototype, the projector
 * with one (the JSON is the same).
 */
const madeBy = (result: ExecutionResult) =>
  Object.getPrototypeOf(result.data) === null ? 'graphql-js' : 'projector';

async function expectSameAsGraphQL(
  args: ExecutionArgs,
  event: Payload,
  by?: 'projector' | 'graphql-js',
): Promise<ExecutionResult> {
  const { compiled, expected, compiledCalls, expectedCalls } = await bothFor(args, event);
  if (by) expect(madeBy(compiled)).toBe(by);
  expect(wire(compiled)).toBe(wire(expected));
  expect(compiled).toEqual(expected);
  expect((compiled.errors ?? []).map((error) => error.originalError)).toEqual(
    (expected.errors ?? []).map((error) => error.originalError),
  );
  expect(compiledCalls).toBe(expectedCalls);
  return compiled;
}

const FULL = `subscription Follow($id: ID!, $after: Int) {
  event(id: $id, after: $after) {
    seq kind delta at usage { prompt completion } parts { text tags } grid
  }
}`;

const regular: Payload = {
  seq: 3,
  kind: 'done',
  delta: 'word',
  at: new Date('2026-12-06T09:00:00Z'),
  usage: { prompt: 10, completion: 20 },
  parts: [{ text: 'a', tags: ['x', 'y'] }, { text: 'b' }],
  grid: [[1, null], [], null],
};

describe('a compiled subscription event', () => {
  it('is what graphql-js executes for an event of plain properties, the root resolver called once', async () => {
    const result = await expectSameAsGraphQL(argsFor(FULL, { id: 'g1', after: 2 }), regular, 'projector');
    expect(result).toEqual({
      data: {
        event: {
          seq: 3,
          kind: 'DONE',
          delta: 'word',
          at: '2026-12-06T09:00:00.000Z',
          usage: { prompt: 10, completion: 20 },
          parts: [
            { text: 'a', tags: ['x', 'y'] },
            { text: 'b', tags: null },
          ],
          grid: [[1, null], [], null],
        },
      },
    });
  });

  it('passes the root resolver the arguments graphql-js passes, defaults included', async () => {
    await expectSameAsGraphQL(argsFor(FULL, { id: 'g1' }), regular, 'projector');
    const compiled = compileEventExecutor(argsFor(FULL, { id: 'g1' }));
    rootCalls = [];
    await compiled?.(regular);
    expect(rootCalls).toEqual([{ payload: regular, args: { id: 'g1', after: 0 } }]);
  });

  it('gives nulls for missing and null nullable properties', async () => {
    await expectSameAsGraphQL(
      argsFor(FULL),
      { seq: 1, kind: 'TOKEN', delta: null, usage: undefined },
      'projector',
    );
  });

  it('keeps aliases, duplicates, fragments, inline fragments and __typename as graphql-js does', async () => {
    const query = `subscription ($id: ID!) {
      first: event(id: $id) {
        __typename
        n: seq
        seq
        seq
        ...Parts
        ... on Event { kind usage { __typename total: prompt } }
        ... { delta }
      }
    }
    fragment Parts on Event { parts { __typename text } seq }`;
    await expectSameAsGraphQL(argsFor(query), regular, 'projector');
  });

  it('applies @include and @skip, with literals and with variables', async () => {
    const query = `subscription ($id: ID!, $withDelta: Boolean!, $skipUsage: Boolean!) {
      event(id: $id) {
        seq
        delta @include(if: $withDelta)
        usage @skip(if: $skipUsage) { prompt }
        kind @skip(if: true)
        at @include(if: false)
        parts @include(if: true) @skip(if: false) { text }
      }
    }`;
    for (const withDelta of [true, false]) {
      for (const skipUsage of [true, false]) {
        await expectSameAsGraphQL(argsFor(query, { id: 'g1', withDelta, skipUsage }), regular, 'projector');
      }
    }
  });

  it('serves a nullable root field and a leaf root field', async () => {
    await expectSameAsGraphQL(argsFor('subscription { maybeEvent { seq } }'), regular);
    resolveRoot = () => null;
    await expectSameAsGraphQL(argsFor('subscription { maybeEvent { seq } }'), regular);
    await expectSameAsGraphQL(argsFor('subscription { word }'), { word: 'hello' });
    await expectSameAsGraphQL(argsFor('subscription { word }'), { word: 42 });
  });

  it('waits for a root resolver that answers with a promise, as type-graphql’s do', async () => {
    resolveRoot = async (payload) => payload;
    await expectSameAsGraphQL(argsFor(FULL), regular, 'projector');
  });
});

describe('an event the projector cannot vouch for goes to graphql-js, the root resolver still called once', () => {
  const cases: [string, Payload][] = [
    ['a null in a non-null field', { ...regular, seq: null }],
    ['a missing non-null field', { kind: 'TOKEN' }],
    ['a null in a non-null list item', { ...regular, parts: [{ text: 'a' }, null] }],
    ['a null in a non-null field of a list item', { ...regular, parts: [{ text: null }] }],
    ['a value an enum does not know', { ...regular, kind: 'NOPE' }],
    ['a string where an Int belongs', { ...regular, seq: 'three' }],
    ['a fraction where an Int belongs', { ...regular, usage: { prompt: 1.5 } }],
    ['a custom scalar that refuses the value', { ...regular, at: 'yesterday' }],
    ['a list that is not an array', { ...regular, grid: new Set([[1]]) }],
    ['a list that is not iterable', { ...regular, parts: { text: 'a' } }],
    ['an object where a leaf belongs', { ...regular, delta: { text: 'a' } }],
    ['a leaf where an object belongs', { ...regular, usage: 'lots' }],
    ['an Error in a property', { ...regular, delta: new Error('broken') }],
    ['a promise in a property', { ...regular, delta: Promise.resolve('later') }],
    ['a rejected promise in a property', { ...regular, usage: Promise.reject(new Error('gone')) }],
    ['a function in a property (graphql-js calls it)', { ...regular, delta: () => 'called' }],
    [
      'a getter that throws',
      Object.defineProperty({ ...regular }, 'delta', {
        get: () => {
          throw new Error('unreadable');
        },
      }),
    ],
  ];
  it.each(cases)('%s', async (_, event) => {
    const result = await expectSameAsGraphQL(argsFor(FULL), event);
    if (result.data) expect(madeBy(result)).toBe('graphql-js');
  });

  it('a root resolver that throws, rejects, returns an Error or null for a non-null field', async () => {
    const failures: (() => unknown)[] = [
      () => {
        throw new Error('not allowed');
      },
      () => Promise.reject(new Error('not allowed later')),
      () => new Error('returned'),
      () => null,
      async () => undefined,
      () => 'not an object',
    ];
    for (const failure of failures) {
      resolveRoot = failure;
      const result = await expectSameAsGraphQL(argsFor(FULL), regular);
      expect(result.data).toBeNull();
    }
  });

  it('a nullable root field whose resolver throws', async () => {
    resolveRoot = () => {
      throw new Error('not allowed');
    };
    await expectSameAsGraphQL(argsFor('subscription { maybeEvent { seq } }'), regular);
  });

  it('the event itself is the root value graphql-js’s resolvers see on that path', async () => {
    const query = 'subscription ($id: ID!) { event(id: $id) { delta } }';
    let rootValueSeen: unknown;
    const event = {
      delta: (_args: unknown, _context: unknown, info: { rootValue: unknown }) => {
        rootValueSeen = info.rootValue;
        return 'called';
      },
    };
    const result = await compileEventExecutor(argsFor(query))?.(event);
    expect(result).toEqual({ data: { event: { delta: 'called' } } });
    expect(rootValueSeen).toBe(event);
  });
});

type Subscribe = (args: ExecutionArgs) => ReturnType<typeof subscribe>;

/** Every result a subscription gives for the streamed events, or its error result. */
async function subscribeThrough(
  subscribeWith: Subscribe,
  args: ExecutionArgs,
  events: Payload[],
): Promise<ExecutionResult[] | ExecutionResult> {
  streamed = events;
  const stream = await subscribeWith(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const results: ExecutionResult[] = [];
  for await (const result of stream) results.push(result);
  return results;
}

describe('a selection that is not compiled goes to graphql-js for every event', () => {
  const subscribedThrough = async (subscribeWith: Subscribe, args: ExecutionArgs) =>
    wire(await subscribeThrough(subscribeWith, args, [regular]));

  it.each([
    ['a field with a resolver', 'shouted'],
    ['a field with arguments', 'padded(width: 3)'],
    ['an interface', 'node { id }'],
    ['a type with isTypeOf', 'checked { id }'],
  ])('%s', async (_, field) => {
    const args = argsFor(`subscription ($id: ID!) { event(id: $id) { seq ${field} } }`);
    expect(compileEventExecutor(args)).toBeNull();
    expect(await subscribedThrough(subscribeWithCompiledEvents, args)).toBe(
      await subscribedThrough(subscribe, args),
    );
  });

  it('a custom field resolver for the whole execution', () => {
    expect(compileEventExecutor({ ...argsFor(FULL), fieldResolver: () => 'mine' })).toBeNull();
  });

  it('a document whose operation graphql-js would not choose', () => {
    const twoOperations = `${FULL}\nsubscription Other { word }`;
    expect(compileEventExecutor(argsFor(twoOperations))).toBeNull();
    expect(compileEventExecutor({ ...argsFor(twoOperations), operationName: 'Other' })).not.toBeNull();
  });

  it('a root field skipped away', () => {
    expect(compileEventExecutor(argsFor('subscription { word @skip(if: true) }'))).toBeNull();
  });
});

describe('subscribeWithCompiledEvents', () => {
  const events: Payload[] = [
    regular,
    { ...regular, seq: 4, kind: 'TOKEN' },
    { ...regular, seq: 5, delta: new Error('broken') },
    { ...regular, seq: 6, delta: () => 'called' },
  ];

  it('gives what graphql-js’s subscribe gives, event after event', async () => {
    const results = (await subscribeThrough(
      subscribeWithCompiledEvents,
      argsFor(FULL),
      events,
    )) as ExecutionResult[];
    const expected = (await subscribeThrough(subscribe, argsFor(FULL), events)) as ExecutionResult[];
    expect(results.map(wire)).toEqual(expected.map(wire));
    expect(results.map(madeBy)).toEqual(['projector', 'projector', 'graphql-js', 'graphql-js']);
  });

  it('gives graphql-js’s error result when the subscription cannot start', async () => {
    const args = argsFor(FULL, {});
    const result = await subscribeThrough(subscribeWithCompiledEvents, args, events);
    expect(result).toEqual(await subscribeThrough(subscribe, args, events));
    expect(result).toHaveProperty('errors');
  });

  it('closes the source stream when it is closed', async () => {
    streamed = events;
    const stream = await subscribeWithCompiledEvents(argsFor(FULL));
    if (!(Symbol.asyncIterator in stream)) throw new Error('the subscription did not start');
    await stream.next();
    await stream.return();
    expect(sourceClosed).toBe(true);
  });
});
