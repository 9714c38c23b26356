import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { type GraphQLSchema, parse } from 'graphql';
import { type BuildSchemaOptions, buildSchema, createResolversMap } from 'type-graphql';
import { enforceAuthorization } from '../identity/authorization';
import { guardTextArguments, type MultilineText } from './text-arguments';

/** The Federation 2 directives the subgraphs use, imported once through `@link`. */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@external", "@provides", "@requires", "@inaccessible", "@listSize", "@authenticated", "@requiresScopes"])';

export type ReferenceResolvers = Record<string, { __resolveReference: (...args: never[]) => unknown }>;

/**
 * Builds a Federation 2 subgraph schema from type-graphql classes: type-graphql produces the
 * types (with `@key` and friends attached through `@Directive`), `@apollo/subgraph` adds
 * `_service`, `_entities` and the reference resolvers. Every subgraph gets Federation's authorization
 * directives (`@authenticated`, `@requiresScopes`; common/identity/authorization.ts), enforced here so no subgraph can forget to, and
 * every text argument is checked for control characters (common/graphql/text-arguments.ts): `multiline`
 * names the ones that may span lines. Authorization is checked first.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, 'skipCheck'>,
  referenceResolvers: ReferenceResolvers = {},
  multiline: MultilineText = [],
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    ...options,
    skipCheck: true,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, reference] of Object.entries(referenceResolvers)) {
    resolvers[typeName] = {
      ...(resolvers[typeName] as object),
      ...reference,
    } as GraphQLResolverMap<unknown>[string];
  }
  return enforceAuthorization(
    guardTextArguments(
      buildSubgraphSchema({
        typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`),
        resolvers,
      }),
      multiline,
    ),
  );
}

/** The subgraph's SDL as Rover and composition see it (what `_service { sdl }` returns). */
export function printFederatedSdl(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
