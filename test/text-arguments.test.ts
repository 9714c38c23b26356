import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  parse,
  subscribe,
} from 'graphql';
import { AppError } from '../common/errors/errors';
import type { Caller } from '../common/identity/caller';
import { buildAuthSchema } from '../subgraphs/auth/schema';
import { buildChatSchema } from '../subgraphs/chat/schema';
import { buildConversationSchema } from '../subgraphs/conversation/schema';

/*
 * Every argument of every root field of the three subgraphs, walked: each place that takes text
 * (arguments, input fields at any depth, `_Any` representations) is given a NUL byte, and the
 * subgraph must answer BAD_USER_INPUT naming that field before any resolver runs. No services are
 * behind these schemas: a value that got past the check would fail on the missing context instead.
 */

const ADMIN: Caller = {
  userId: '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11',
  role: 'ADMIN',
  sessionId: null,
  requestId: 'text-arguments',
  issuer: 'gateway',
  service: null,
};
const ID = '2b1c6c1f-5e11-4c55-9f0e-8d1e6f3a3a0e';

/** A valid value of the type: required members only. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0].name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => isNonNullType(field.type) && field.defaultValue === undefined)
        .map((field) => [field.name, sample(field.type)]),
    );
  }
  const scalars: Record<string, unknown> = {
    ID,
    String: 'text',
    Int: 1,
    Float: 1,
    Boolean: true,
    _Any: { __typename: 'User', id: ID },
  };
  if (!(type.name in scalars)) throw new Error(`No sample for scalar ${type.name}`);
  return scalars[type.name];
}

interface TextPlace {
  /** Where the value goes, from the argument down: ['input', 'content']. */
  path: string[];
  /** The argument's or input field's name, which the error must name. */
  field: string;
  /** The value with the NUL byte, shaped for the place's type. */
  value: unknown;
}

/** Every place inside a value of `type` that holds text. */
function textPlaces(type: GraphQLInputType, name: string, path: string[], seen: string[] = []): TextPlace[] {
  const named = getNamedType(type);
  if (isEnumType(named) || seen.includes(named.name)) return [];
  if (isInputObjectType(named)) {
    return Object.values(named.getFields()).flatMap((field) =>
      textPlaces(field.type, field.name, [...path, field.name], [...seen, named.name]),
    );
  }
  if (!isScalarType(named) || ['Int', 'Float', 'Boolean'].includes(named.name)) return [];
  const value = named.name === '_Any' ? { __typename: 'User', id: 'a\u0000b' } : 'a\u0000b';
  return [{ path, field: name, value: isListType(getNamedType(type)) ? [value] : value }];
}

function withValue(args: Record<string, unknown>, field: GraphQLField<unknown, unknown>, place: TextPlace) {
  const copy = structuredClone(args);
  let target: Record<string, unknown> = copy;
  let type: GraphQLInputType = field.args.find((arg) => arg.name === place.path[0])!.type;
  for (const [index, key] of place.path.entries()) {
    const wrappedInList = isListType(isNonNullType(type) ? type.ofType : type);
    if (index === place.path.length - 1) {
      target[key] = wrappedInList ? [place.value] : place.value;
    } else {
      const next = getNamedType(type);
      target[key] ??= {};
      target = (wrappedInList ? (target[key] as unknown[])[0] : target[key]) as Record<string, unknown>;
      if (isInputObjectType(next)) type = next.getFields()[place.path[index + 1]].type;
    }
  }
  return copy;
}

/** The operation selecting `field` with the given arguments as variables. */
function operationFor(
  kind: 'query' | 'mutation' | 'subscription',
  field: GraphQLField<unknown, unknown>,
  given: Record<string, unknown>,
): DocumentNode {
  const used = field.args.filter((arg) => arg.name in given);
  const variables = used.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
  const args = used.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const returned = getNamedType(field.type);
  const selection = isScalarType(returned) || isEnumType(returned) ? '' : ' { __typename }';
  return parse(
    `${kind}${variables ? `(${variables})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`,
  );
}

async function run(
  schema: GraphQLSchema,
  kind: 'query' | 'mutation' | 'subscription',
  document: DocumentNode,
  variableValues: Record<string, unknown>,
): Promise<ExecutionResult> {
  const contextValue = { caller: ADMIN, requestId: ADMIN.requestId };
  if (kind !== 'subscription') return execute({ schema, document, contextValue, variableValues });
  const result = await subscribe({ schema, document, contextValue, variableValues });
  return Symbol.asyncIterator in result ? { errors: [] } : result;
}

describe.each([
  ['auth', buildAuthSchema],
  ['conversation', buildConversationSchema],
  ['chat', buildChatSchema],
])('the %s subgraph', (_name, build) => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await build();
  });

  it('refuses a NUL byte in every text argument, naming the field, before any resolver runs', async () => {
    const refused: string[] = [];
    const missed: string[] = [];
    for (const kind of ['query', 'mutation', 'subscription'] as const) {
      const root =
        kind === 'query'
          ? schema.getQueryType()
          : kind === 'mutation'
            ? schema.getMutationType()
            : schema.getSubscriptionType();
      for (const field of Object.values(root?.getFields() ?? {})) {
        const args = Object.fromEntries(
          field.args
            .filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)
            .map((arg) => [arg.name, sample(arg.type)]),
        );
        for (const arg of field.args) {
          for (const place of textPlaces(arg.type, arg.name, [arg.name])) {
            const given = withValue(args, field, place);
            const result = await run(schema, kind, operationFor(kind, field, given), given);
            const error = result.errors?.[0]?.originalError;
            const where = `${field.name}(${place.path.join('.')})`;
            if (
              error instanceof AppError &&
              error.code === 'BAD_USER_INPUT' &&
              error.details.field === place.field
            ) {
              refused.push(where);
            } else {
              missed.push(`${where}: ${String(result.errors?.[0]?.message)}`);
            }
          }
        }
      }
    }
    expect(missed).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
  });
});
