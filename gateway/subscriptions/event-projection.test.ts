import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  type ExecutionResult,
  execute,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  parse,
  print,
} from 'graphql';
import { silentLogger } from '../../common/testing/logger';
import type { GatewayContext } from '../context';
import { compileEventProjection, type EventProjection } from './event-projection';
import { executeEvent, planEvents, prepare, type PreparedSubscription } from './executor';
import { SupergraphPlanner } from './planner';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';
const eventsSdl = `${link}
  directive @traced on FIELD
  type Query { ping: String }
  type Subscription { event: Event!, maybeEvent: Event, feed: [Item!]!, node: Node }
  type Event {
    n: Int!
    label: String
    ratio: Float
    done: Boolean
    ref: ID
    kind: Kind!
    payload: JSON
    tags: [String!]
    grid: [[Int]]
    author: Author!
    editor: Author
    constructor: String
    previous: Event
  }
  enum Kind { TOKEN END }
  scalar JSON
  interface Node { id: ID! }
  type Author implements Node @key(fields: "id") { id: ID!, name: String! }
  type Post implements Node { id: ID!, title: String }
  union Item = Author | Post`;
const peopleSdl = `${link}
  directive @traced on FIELD
  type Query { people: [Author] }
  type Author @key(fields: "id") { id: ID!, bio: String }`;

const composed = composeServices([
  { name: 'events', url: 'http://events.invalid', typeDefs: parse(eventsSdl) },
  { name: 'people', url: 'http://people.invalid', typeDefs: parse(peopleSdl) },
]);
if (composed.errors) throw composed.errors[0];
const planner = new SupergraphPlanner(composed.supergraphSdl);
const eventsSchema = buildSubgraphSchema({
  typeDefs: parse(eventsSdl),
  resolvers: { JSON: { __serialize: (value: unknown) => value } as never },
});

const ada = { __typename: 'Author', id: 'a1', name: 'Ada' };
const post = { __typename: 'Post', id: 'p1', title: 'On engines' };
/** What the events subgraph's resolvers return for one event: every field, so any selection is served. */
const fullEvent = {
  n: 7,
  label: 'seven',
  ratio: 0.5,
  done: false,
  ref: 'r-7',
  kind: 'TOKEN',
  payload: { nested: [1, 'two', null] },
  tags: ['a', 'b'],
  grid: [[1, null], [], null],
  author: ada,
  editor: null,
  constructor: 'built',
};
const rootValue = { event: fullEvent, maybeEvent: fullEvent, feed: [ada, post], node: post };

const context = {
  requestId: 'r-1',
  identity: { userId: 'u-1', role: 'USER', sessionId: 's-1', requestId: 'r-1', issuer: 'gateway' },
  logger: silentLogger(),
} as GatewayContext;

interface Compiled {
  projection: EventProjection | undefined;
  /** What the executor gives for an event without the projection: `executeQueryPlan`'s result. */
  executed: (event: FormattedExecutionResult) => Promise<ExecutionResult>;
  /** The event the events subgraph sends for this subscription's primary fetch, its resolvers returning `root`. */
  upstreamEvent: (root?: Record<string, unknown>) => Promise<FormattedExecutionResult>;
}

function compile(query: string, variables: Record<string, unknown> = {}): Compiled {
  const request = { document: parse(query), source: query, variables, context };
  const prepared = prepare(planner, request);
  if ('refused' in prepared) throw new Error(prepared.refused.errors?.[0].message);
  const plan = planEvents(prepared, request);
  if ('refused' in plan) throw new Error(plan.refused.errors?.[0].message);
  const { primary } = plan.subscription;
  return {
    projection: compileEventProjection(
      planner.apiSchema,
      request.document,
      prepared.operationName,
      prepared.variables,
      plan.subscription,
    ),
    executed: (event) => executeEvent(event, plan.eventPlan, prepared as PreparedSubscription, {}),
    upstreamEvent: async (root = rootValue) => {
      const result = await execute({
        schema: eventsSchema,
        document: parse(primary.operation),
        rootValue: root,
        variableValues: Object.fromEntries(
          (primary.variableUsages ?? []).map((name) => [name, prepared.variables[name]]),
        ),
      });
      return JSON.parse(JSON.stringify(result)) as FormattedExecutionResult;
    },
  };
}

/**
 * The projection of the event (the subgraph's own for this subscription unless given), after checking
 * it is exactly what the plan gives for it: the same values, keys in the same order, the same kind of
 * objects (result shaping's have no prototype), no errors.
 */
async function projectedAsExecuted(
  query: string,
  variables: Record<string, unknown> = {},
  event?: FormattedExecutionResult,
): Promise<unknown> {
  const { projection, executed, upstreamEvent } = compile(query, variables);
  const upstream = event ?? (await upstreamEvent());
  expect(upstream.errors).toBeUndefined();
  const expected = await executed(upstream);
  expect(expected.errors).toBeUndefined();
  const projected = projection?.(upstream);
  expect(projected).toStrictEqual({ data: expected.data });
  expect(JSON.stringify(projected)).toBe(JSON.stringify(expected));
  return projected?.data;
}

describe('compileEventProjection gives what executeQueryPlan gives', () => {
  it('copies the selected fields of an object in the order the operation selects them', async () => {
    expect(await projectedAsExecuted('subscription { event { label n kind } }')).toEqual({
      event: { label: 'seven', n: 7, kind: 'TOKEN' },
    });
  });

  it('keeps only what the client selected, not what the plan added for itself', async () => {
    const { upstreamEvent } = compile('subscription { node { ... on Post { title } } }');
    expect(await upstreamEvent()).toEqual({ data: { node: { __typename: 'Post', title: 'On engines' } } });
    expect(await projectedAsExecuted('subscription { node { ... on Post { title } } }')).toEqual({
      node: { title: 'On engines' },
    });
  });

  it('names fields by their aliases, a field selected twice under two names included', async () => {
    expect(
      await projectedAsExecuted('subscription { tick: event { number: n text: label again: n } }'),
    ).toEqual({ tick: { number: 7, text: 'seven', again: 7 } });
  });

  it('spreads named and inline fragments, nested ones and those without a type condition', async () => {
    const query = `
      subscription {
        event { ...Parts ... { label } ... on Event { n } }
      }
      fragment Parts on Event { kind author { ...Who } }
      fragment Who on Author { ... on Node { id } name }`;
    expect(await projectedAsExecuted(query)).toEqual({
      event: { kind: 'TOKEN', author: { id: 'a1', name: 'Ada' }, label: 'seven', n: 7 },
    });
  });

  it('reads a type condition inside a fragment on an interface as result shaping does, against the interface when the event names no __typename', async () => {
    // The subgraph sends `name`, but result shaping reads `... on Author` against `Node` here and
    // drops it: a quirk of @apollo/gateway that the projection reproduces rather than corrects.
    const query = `
      subscription { event { author { ...Who } } }
      fragment Who on Node { id ... on Author { name } }`;
    const { upstreamEvent } = compile(query);
    expect(await upstreamEvent()).toEqual({ data: { event: { author: { id: 'a1', name: 'Ada' } } } });
    expect(await projectedAsExecuted(query)).toEqual({ event: { author: { id: 'a1' } } });
  });

  it('merges a field selected in several places into one object', async () => {
    const query = `
      subscription { event { author { id } ...More author { name } } }
      fragment More on Event { author { id name } n }`;
    expect(await projectedAsExecuted(query)).toEqual({ event: { author: { id: 'a1', name: 'Ada' }, n: 7 } });
  });

  it('copies nested objects, null objects and null leaves', async () => {
    const query = 'subscription { event { author { id name } editor { name } label } }';
    expect(await projectedAsExecuted(query)).toEqual({
      event: { author: { id: 'a1', name: 'Ada' }, editor: null, label: 'seven' },
    });
    const { upstreamEvent } = compile(query);
    const withEditor = await upstreamEvent({ event: { ...fullEvent, editor: ada, label: null } });
    expect(await projectedAsExecuted(query, {}, withEditor)).toEqual({
      event: { author: { id: 'a1', name: 'Ada' }, editor: { name: 'Ada' }, label: null },
    });
  });

  it('copies a nullable root field that is null', async () => {
    const query = 'subscription { maybeEvent { n } }';
    const { upstreamEvent } = compile(query);
    const event = await upstreamEvent({ maybeEvent: null });
    expect(await projectedAsExecuted(query, {}, event)).toEqual({ maybeEvent: null });
  });

  it('copies every kind of leaf: Int, Float, Boolean, ID, enum and a custom scalar holding an object', async () => {
    const query = 'subscription { event { n ratio done ref kind payload } }';
    expect(await projectedAsExecuted(query)).toEqual({
      event: {
        n: 7,
        ratio: 0.5,
        done: false,
        ref: 'r-7',
        kind: 'TOKEN',
        payload: { nested: [1, 'two', null] },
      },
    });
    const numericId = {
      data: { event: { n: 7, ratio: 2, done: true, ref: 12, kind: 'END', payload: 'text' } },
    };
    expect(await projectedAsExecuted(query, {}, numericId)).toEqual(numericId.data);
  });

  it('copies lists: of leaves, nested, empty, null, and of objects of a union', async () => {
    expect(await projectedAsExecuted('subscription { event { tags grid } }')).toEqual({
      event: { tags: ['a', 'b'], grid: [[1, null], [], null] },
    });
    const { upstreamEvent } = compile('subscription { event { tags grid } }');
    const emptyAndNull = await upstreamEvent({ event: { ...fullEvent, tags: [], grid: null } });
    expect(await projectedAsExecuted('subscription { event { tags grid } }', {}, emptyAndNull)).toEqual({
      event: { tags: [], grid: null },
    });
    const feed = 'subscription { feed { __typename ... on Author { name } ... on Post { id title } } }';
    expect(await projectedAsExecuted(feed)).toEqual({
      feed: [
        { __typename: 'Author', name: 'Ada' },
        { __typename: 'Post', id: 'p1', title: 'On engines' },
      ],
    });
  });

  it('decides @include and @skip with the variables, their defaults and literals', async () => {
    const query = `
      subscription ($withLabel: Boolean!, $skipAuthor: Boolean!, $withKind: Boolean! = true) {
        event {
          n @skip(if: false)
          label @include(if: $withLabel)
          kind @include(if: $withKind)
          ... on Event @skip(if: $skipAuthor) { author { name } }
          ...Tags @include(if: $withLabel)
        }
      }
      fragment Tags on Event { tags }`;
    expect(await projectedAsExecuted(query, { withLabel: true, skipAuthor: false })).toEqual({
      event: { n: 7, label: 'seven', kind: 'TOKEN', author: { name: 'Ada' }, tags: ['a', 'b'] },
    });
    expect(await projectedAsExecuted(query, { withLabel: false, skipAuthor: true, withKind: false })).toEqual(
      {
        event: { n: 7 },
      },
    );
  });

  it('answers __typename, aliased or not, on objects, union members and interface implementations', async () => {
    expect(
      await projectedAsExecuted(
        'subscription { event { __typename kind: __typename author { t: __typename } } }',
      ),
    ).toEqual({ event: { __typename: 'Event', kind: 'Event', author: { t: 'Author' } } });
    expect(
      await projectedAsExecuted('subscription { feed { ... on Node { __typename id } what: __typename } }'),
    ).toEqual({
      feed: [
        { __typename: 'Author', id: 'a1', what: 'Author' },
        { __typename: 'Post', id: 'p1', what: 'Post' },
      ],
    });
  });

  it('applies the fragments of an interface by the runtime type the event names', async () => {
    const query = 'subscription { node { id ... on Post { title } ... on Author { name } } }';
    expect(await projectedAsExecuted(query)).toEqual({ node: { id: 'p1', title: 'On engines' } });
    const { upstreamEvent } = compile(query);
    expect(await projectedAsExecuted(query, {}, await upstreamEvent({ node: ada }))).toEqual({
      node: { id: 'a1', name: 'Ada' },
    });
  });

  it('compiles a deep selection once per level, though each object is compiled with and without a __typename', async () => {
    const depth = 30;
    const query = `subscription { event { ${'previous { '.repeat(depth)}n${' }'.repeat(depth)} } }`;
    let chain: Record<string, unknown> = { ...fullEvent, previous: null };
    for (let level = 0; level < depth; level += 1) chain = { ...fullEvent, n: level, previous: chain };
    const { upstreamEvent } = compile(query);
    const projected = (await projectedAsExecuted(query, {}, await upstreamEvent({ event: chain }))) as {
      event: unknown;
    };
    let deepest = projected.event as { previous?: unknown; n?: number };
    for (let level = 0; level < depth; level += 1) deepest = deepest.previous as typeof deepest;
    expect(deepest).toEqual({ n: 7 });
  });

  it('reads a field named like a property of every object from the event alone', async () => {
    expect(await projectedAsExecuted('subscription { event { constructor toString: label } }')).toEqual({
      event: { constructor: 'built', toString: 'seven' },
    });
  });
});

describe('compileEventProjection leaves to the plan what it cannot vouch for', () => {
  const good = { event: { n: 1, label: 'x', tags: ['a'], author: { name: 'Ada' } } };
  const projection = (): EventProjection => {
    const compiled = compile('subscription { event { n label tags author { name } } }').projection;
    if (!compiled) throw new Error('expected a projection');
    return compiled;
  };

  it('projects the well-formed event these cases start from', () => {
    expect(projection()({ data: good })).toEqual({ data: good });
  });

  it.each<[string, FormattedExecutionResult]>([
    ['errors, even with data', { data: good, errors: [{ message: 'boom' } as GraphQLFormattedError] }],
    ['an empty error list', { data: good, errors: [] }],
    ['data null', { data: null }],
    ['no data', {}],
    ['a null where the schema says non-null', { data: { event: { ...good.event, n: null } } }],
    ['a null object where the schema says non-null', { data: { event: { ...good.event, author: null } } }],
    ['a null item in a list of non-null items', { data: { event: { ...good.event, tags: ['a', null] } } }],
    ['a missing key', { data: { event: { n: 1, tags: ['a'], author: { name: 'Ada' } } } }],
    ['a value result shaping would not keep', { data: { event: { ...good.event, n: 'seven' } } }],
    ['a fractional Int', { data: { event: { ...good.event, n: 1.5 } } }],
    ['a list that is not a list', { data: { event: { ...good.event, tags: 'a' } } }],
    ['an object that is not an object', { data: { event: { ...good.event, author: 'Ada' } } }],
    ['a list where an object belongs', { data: { event: { ...good.event, author: [{ name: 'Ada' }] } } }],
    ['a __typename of another type', { data: { event: { ...good.event, __typename: 'Post' } } }],
  ])('falls back on %s', (_case, event) => {
    expect(projection()(event)).toBeUndefined();
  });

  it('falls back on an enum value the API schema does not have', () => {
    const { projection: kinds } = compile('subscription { event { kind } }');
    expect(kinds?.({ data: { event: { kind: 'END' } } })).toEqual({ data: { event: { kind: 'END' } } });
    expect(kinds?.({ data: { event: { kind: 'NOPE' } } })).toBeUndefined();
  });

  it('falls back on an abstract object whose __typename is missing, unknown or not a possible type', () => {
    const { projection: nodes } = compile('subscription { node { id ... on Post { title } } }');
    expect(nodes?.({ data: { node: { __typename: 'Post', id: 'p1', title: 't' } } })).toBeDefined();
    expect(nodes?.({ data: { node: { id: 'p1', title: 't' } } })).toBeUndefined();
    expect(nodes?.({ data: { node: { __typename: 'Nope', id: 'p1' } } })).toBeUndefined();
    expect(nodes?.({ data: { node: { __typename: 'Event', id: 'p1' } } })).toBeUndefined();
  });

  it('falls back on an aliased __typename that names another type', () => {
    const { projection: kinds } = compile('subscription { event { kind: __typename } }');
    expect(kinds?.({ data: { event: { kind: 'Event' } } })).toEqual({ data: { event: { kind: 'Event' } } });
    expect(kinds?.({ data: { event: { kind: 'Author' } } })).toBeUndefined();
  });
});

describe('compileEventProjection compiles no projection', () => {
  it('when the plan fetches from another subgraph for each event', () => {
    expect(compile('subscription { event { n author { bio } } }').projection).toBeUndefined();
  });

  it('when the operation uses a directive other than @include and @skip', () => {
    expect(compile('subscription { event { n @traced } }').projection).toBeUndefined();
  });

  it('when the operation defers a fragment', () => {
    // The API schema has no @defer, so such a document never validates; the projection refuses it all the same.
    const document = parse('subscription { event { n ... @defer { label } } }');
    const plan = planner.plan(document, undefined, 'deferred');
    if (plan.node?.kind !== 'Subscription') throw new Error('expected a subscription plan');
    expect(compileEventProjection(planner.apiSchema, document, undefined, {}, plan.node)).toBeUndefined();
  });
});

describe('compileEventProjection, compiled once per document', () => {
  /** A projection of `document` as the executor compiles it for one subscription with these variables. */
  function projectionOf(
    document: ReturnType<typeof parse>,
    variables: Record<string, unknown>,
  ): EventProjection | undefined {
    const source = print(document);
    const request = { document, source, variables, context };
    const prepared = prepare(planner, request);
    if ('refused' in prepared) throw new Error(prepared.refused.errors?.[0].message);
    const plan = planEvents(prepared, request);
    if ('refused' in plan) throw new Error(plan.refused.errors?.[0].message);
    return compileEventProjection(
      planner.apiSchema,
      document,
      prepared.operationName,
      prepared.variables,
      plan.subscription,
    );
  }
  const event = { data: { event: { n: 1, label: 'one' } } };

  it('serves every subscription of one document', () => {
    const document = parse('subscription { event { n label } }');
    const first = projectionOf(document, {});
    const second = projectionOf(document, {});
    expect(first?.(event)).toEqual({ data: { event: { n: 1, label: 'one' } } });
    expect(second?.(event)).toEqual(first?.(event));
  });

  it('decides @include and @skip with each subscription’s own variables', () => {
    const document = parse(
      'subscription ($withLabel: Boolean!) { event { n label @include(if: $withLabel) } }',
    );
    const withLabel = projectionOf(document, { withLabel: true });
    const without = projectionOf(document, { withLabel: false });
    const againWith = projectionOf(document, { withLabel: true });
    expect(withLabel?.(event)).toEqual({ data: { event: { n: 1, label: 'one' } } });
    expect(without?.(event)).toEqual({ data: { event: { n: 1 } } });
    expect(againWith?.(event)).toEqual(withLabel?.(event));
  });

  it('compiles the same document again for another supergraph', () => {
    const document = parse('subscription { event { n label } }');
    expect(projectionOf(document, {})).toBeDefined();
    // The next supergraph's Event has no label: the document no longer reads over its API schema.
    const next = composeServices([
      {
        name: 'events',
        url: 'http://events.invalid',
        typeDefs: parse(eventsSdl.replace('label: String\n', '')),
      },
      { name: 'people', url: 'http://people.invalid', typeDefs: parse(peopleSdl) },
    ]);
    if (next.errors) throw next.errors[0];
    const nextPlanner = new SupergraphPlanner(next.supergraphSdl);
    const plan = planner.plan(document, undefined, 'compiled-again').node;
    if (plan?.kind !== 'Subscription') throw new Error('expected a subscription plan');
    expect(compileEventProjection(nextPlanner.apiSchema, document, undefined, {}, plan)).toBeUndefined();
  });
});
