import {
  createSourceEventStream,
  defaultFieldResolver,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FieldNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getVariableValues,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLLeafType,
  GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  GraphQLSchema,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator';

/*
 * graphql-js's `subscribe`, except for what it does with each event. graphql-js runs the whole of
 * `execute` for every event: it rebuilds the execution context, coerces the variables and collects
 * the fields of every level again, and walks the result through its general machinery (about
 * 19 µs of CPU for a chat event against 4 here: docs/performance.md#executing-an-event). Here a subscription whose selection below the root field
 * only reads properties (no resolver, no `isTypeOf`, no arguments, no interface or union) is
 * compiled once, when it starts, into a projector: each event still gets its variables coerced
 * and the root field's own resolver called (with its guards) exactly as graphql-js would, and the
 * resolved value is then copied along the compiled selection, leaves serialized by their types.
 *
 * The projector only vouches for values graphql-js would complete without an error or a call:
 * anything else it meets (a null where the type forbids one, a leaf its type refuses, a function,
 * a promise or an Error in a property, a list that is no array) hands the event to graphql-js's
 * `execute`, with the root field's value already resolved, so the resolver never runs twice and
 * every error, null and path comes out as graphql-js makes it. A selection that is not compiled
 * goes to `execute` for every event. The results are graphql-js's to the byte on the wire; the
 * projector's objects have a prototype where graphql-js's have none.
 */

type Projector = (value: unknown) => unknown;

/** What a projector returns for a value it cannot complete as graphql-js would without help. */
const UNVOUCHED = Symbol('unvouched');

const isAsyncIterable = (value: object): value is AsyncIterable<unknown> => Symbol.asyncIterator in value;

const isThenable = (value: unknown): boolean =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function';

/** What graphql-js's default resolver would do with the property on its own: return it as it is. */
const isPlainProperty = (value: unknown): boolean =>
  typeof value !== 'function' && !isThenable(value) && !(value instanceof Error);

const leafProjector =
  (type: GraphQLLeafType): Projector =>
  (value) => {
    if (value === null || value === undefined) return null;
    try {
      return type.serialize(value) ?? UNVOUCHED;
    } catch {
      return UNVOUCHED;
    }
  };

const nonNullProjector =
  (inner: Projector): Projector =>
  (value) =>
    value === null || value === undefined ? UNVOUCHED : inner(value);

const listProjector =
  (item: Projector): Projector =>
  (value) => {
    if (value === null || value === undefined) return null;
    if (!Array.isArray(value)) return UNVOUCHED;
    const items: unknown[] = [];
    for (const element of value) {
      if (!isPlainProperty(element)) return UNVOUCHED;
      const projected = item(element);
      if (projected === UNVOUCHED) return UNVOUCHED;
      items.push(projected);
    }
    return items;
  };

interface FieldProjector {
  key: string;
  project: (source: Record<string, unknown>) => unknown;
}

const objectProjector =
  (fields: readonly FieldProjector[]): Projector =>
  (value) => {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'object') return UNVOUCHED;
    const result: Record<string, unknown> = {};
    for (const field of fields) {
      const projected = field.project(value as Record<string, unknown>);
      if (projected === UNVOUCHED) return UNVOUCHED;
      result[field.key] = projected;
    }
    return result;
  };

/** What the default resolver gives for the field, projected; any other resolution is not compiled. */
function propertyProjector(name: string, project: Projector): FieldProjector['project'] {
  return (source) => {
    const value = source[name];
    return isPlainProperty(value) ? project(value) : UNVOUCHED;
  };
}

interface Selection {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variableValues: Record<string, unknown>;
}

const readsProperty = (field: GraphQLField<unknown, unknown>): boolean =>
  (field.resolve === undefined || field.resolve === defaultFieldResolver) && field.args.length === 0;

/** The projector of a value of `type` selected by `fieldNodes`; null when graphql-js must complete it. */
function compileType(
  selection: Selection,
  type: GraphQLOutputType,
  fieldNodes: readonly FieldNode[],
): Projector | null {
  if (isNonNullType(type)) {
    const inner = compileType(selection, type.ofType, fieldNodes);
    return inner && nonNullProjector(inner);
  }
  if (isListType(type)) {
    const item = compileType(selection, type.ofType, fieldNodes);
    return item && listProjector(item);
  }
  if (isLeafType(type)) return leafProjector(type);
  if (!isObjectType(type) || type.isTypeOf) return null;
  const fields = compileFields(selection, type, fieldNodes);
  return fields && objectProjector(fields);
}

function compileFields(
  selection: Selection,
  type: GraphQLObjectType,
  fieldNodes: readonly FieldNode[],
): FieldProjector[] | null {
  const { schema, fragments, variableValues } = selection;
  const fields: FieldProjector[] = [];
  for (const [key, nodes] of collectSubfields(schema, fragments, variableValues, type, fieldNodes)) {
    const name = nodes[0].name.value;
    if (name === '__typename') {
      fields.push({ key, project: () => type.name });
      continue;
    }
    const field = type.getFields()[name];
    if (!field || !readsProperty(field)) return null;
    const project = compileType(selection, field.type, nodes);
    if (!project) return null;
    fields.push({ key, project: propertyProjector(name, project) });
  }
  return fields;
}

/** Executes one event of a subscription: what graphql-js's `execute` gives for it as the root value. */
export type EventExecutor = (event: unknown) => Promise<ExecutionResult> | ExecutionResult;

/** The operation graphql-js would execute (none when it would refuse to choose) and the fragments. */
function operationOf(args: ExecutionArgs) {
  const operations: OperationDefinitionNode[] = [];
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation =
    args.operationName == null
      ? operations.length === 1
        ? operations[0]
        : undefined
      : operations.find((definition) => definition.name?.value === args.operationName);
  return { operation, fragments };
}

/**
 * The schema with the subscription's root fields resolved already: the root value's resolution
 * is handed over in `settledRoot`, which `execute` reads synchronously as it starts, so the event
 * itself stays the root value graphql-js's resolvers see.
 */
const settledRootSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();
type SettledRoot = { value: unknown } | { error: unknown };
const NOTHING_SETTLED: SettledRoot = { error: new Error('no settled root value was handed over') };
let settledRoot: SettledRoot = NOTHING_SETTLED;

function withSettledRoot(schema: GraphQLSchema, subscriptionType: GraphQLObjectType): GraphQLSchema {
  let settled = settledRootSchemas.get(schema);
  if (settled) return settled;
  const subscription = subscriptionType.toConfig();
  const settle: GraphQLFieldResolver<unknown, unknown> = () => {
    const root = settledRoot;
    settledRoot = NOTHING_SETTLED;
    if ('error' in root) throw root.error;
    return root.value;
  };
  const config = schema.toConfig();
  settled = new GraphQLSchema({
    ...config,
    types: config.types.filter((type) => type !== subscriptionType),
    subscription: new GraphQLObjectType({
      ...subscription,
      fields: Object.fromEntries(
        Object.entries(subscription.fields).map(([name, field]) => [
          name,
          { ...field, resolve: settle, subscribe: undefined },
        ]),
      ),
    }),
  });
  settledRootSchemas.set(schema, settled);
  return settled;
}

/**
 * The compiled executor of the subscription's events, or null when its selection is not one the
 * projector vouches for (then every event goes through graphql-js's `execute`). It expects a
 * validated document, as graphql-ws gives it.
 */
export function compileEventExecutor(args: ExecutionArgs): EventExecutor | null {
  const { schema, contextValue } = args;
  const subscriptionType = schema.getSubscriptionType();
  const { operation, fragments } = operationOf(args);
  if (!subscriptionType || !operation || args.fieldResolver) return null;
  const variableDefinitions = operation.variableDefinitions ?? [];
  const coerce = () => getVariableValues(schema, variableDefinitions, args.variableValues ?? {});
  const coerced = coerce();
  if (!coerced.coerced) return null;
  const selection: Selection = { schema, fragments, variableValues: coerced.coerced };
  const rootFields = [
    ...collectFields(schema, fragments, coerced.coerced, subscriptionType, operation.selectionSet),
  ];
  if (rootFields.length !== 1) return null;
  const [[key, fieldNodes]] = rootFields;
  const field = subscriptionType.getFields()[fieldNodes[0].name.value];
  if (!field) return null;
  const project = compileType(selection, field.type, fieldNodes);
  if (!project) return null;
  const resolve = field.resolve ?? defaultFieldResolver;

  const executeSettled = (event: unknown, root: SettledRoot) => {
    const settledSchema = withSettledRoot(schema, subscriptionType);
    settledRoot = root;
    try {
      return execute({ ...args, schema: settledSchema, rootValue: event });
    } finally {
      settledRoot = NOTHING_SETTLED;
    }
  };
  const projected = (value: unknown) => {
    if (!isPlainProperty(value)) return UNVOUCHED;
    try {
      return project(value);
    } catch {
      // A getter that throws: graphql-js makes that a field error.
      return UNVOUCHED;
    }
  };
  const complete = (event: unknown, value: unknown): Promise<ExecutionResult> | ExecutionResult => {
    const data = projected(value);
    return data === UNVOUCHED ? executeSettled(event, { value }) : { data: { [key]: data } };
  };
  return (event) => {
    const { coerced: variableValues } = coerce();
    if (!variableValues) return execute({ ...args, rootValue: event });
    const info: GraphQLResolveInfo = {
      fieldName: field.name,
      fieldNodes,
      returnType: field.type,
      parentType: subscriptionType,
      path: { prev: undefined, key, typename: subscriptionType.name },
      schema,
      fragments,
      rootValue: event,
      operation,
      variableValues,
    };
    let value: unknown;
    try {
      value = resolve(event, getArgumentValues(field, fieldNodes[0], variableValues), contextValue, info);
    } catch (error) {
      return executeSettled(event, { error });
    }
    if (isThenable(value)) {
      return (value as Promise<unknown>).then(
        (resolved) => complete(event, resolved),
        (error: unknown) => executeSettled(event, { error }),
      );
    }
    return complete(event, value);
  };
}

/**
 * graphql-js's `subscribe` (graphql-ws's default), with each event executed by the compiled
 * executor when the selection allows it (see above), by graphql-js's `execute` otherwise.
 */
export async function subscribeWithCompiledEvents(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  // Compiled before the source stream opens, so that nothing can leave it open.
  const executeEvent: EventExecutor =
    compileEventExecutor(args) ?? ((event) => execute({ ...args, rootValue: event }));
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  return mapAsyncIterator(stream, executeEvent);
}
