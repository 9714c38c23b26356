import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { Identity } from '../../common/identity/identity';
import type { Role } from '../../common/identity/roles';
import type { GatewayContext } from '../context';
import type { ParsedStreamingRequest } from '../transports/operation-router';
import { SupergraphPlanner } from '../subscriptions/planner';
import { refusedFields } from '../../common/identity/operation-access';
import { useEdgeAuthorization } from './edge-authorization';

const SUBGRAPH = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes"])
  type Query { open: String, node(id: ID!): Node, audit: Audit }
  type Subscription { ticks: Int! @authenticated, alarms: Int! @requiresScopes(scopes: [["role:ADMIN"]]) }
  interface Node { id: ID! }
  type Note implements Node @key(fields: "id") { id: ID!, text: String }
  type Secret implements Node @key(fields: "id") { id: ID! @requiresScopes(scopes: [["role:ADMIN"]]), text: String }
  type Audit @authenticated { entries: [String!]! }
`;

const composed = composeServices([
  { name: 'one', url: 'http://127.0.0.1:1/graphql', typeDefs: parse(SUBGRAPH) },
]);
if (!composed.supergraphSdl) throw new Error(JSON.stringify(composed.errors));
const planner = new SupergraphPlanner(composed.supergraphSdl);

const identity = (role: Role | null): Identity => ({
  userId: role ? '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11' : null,
  role,
  sessionId: null,
  requestId: 'req',
  issuer: 'gateway',
});

const refused = (query: string, role: Role | null, operationName?: string) =>
  refusedFields(planner.schema, planner.accessRules, parse(query), operationName, identity(role)).map(
    (field) => field.path,
  );

describe('the fields an operation may not select', () => {
  it('reads the rules from the composed supergraph, a type’s covering each of its fields', () => {
    expect(refused('{ open audit { entries } }', null)).toEqual(['audit.entries']);
    expect(refused('{ open audit { entries } }', 'USER')).toEqual([]);
  });

  it('holds an interface field to the strongest requirement of its implementations', () => {
    expect(refused('{ node(id: "1") { id } }', 'USER')).toEqual(['node.id']);
    expect(refused('{ node(id: "1") { ... on Note { id } } }', 'USER')).toEqual([]);
    expect(refused('{ node(id: "1") { id } }', 'ADMIN')).toEqual([]);
  });

  it('follows named fragments, reports aliases, and checks only the operation asked for', () => {
    const document = `
      query Mine { ...A }
      query Other { open }
      fragment A on Query { log: audit { entries } }`;
    expect(refused(document, null, 'Mine')).toEqual(['log.entries']);
    expect(refused(document, null, 'Other')).toEqual([]);
  });
});

describe('the subscription path (graphql-ws, SSE, multipart)', () => {
  const plugin = useEdgeAuthorization({
    schema: () => planner.schema,
    accessRules: () => planner.accessRules,
  });
  const admit = async (query: string, role: Role | null) => {
    const request: ParsedStreamingRequest = { query, document: parse(query) };
    await plugin.subscriptions?.admit?.(request, { identity: identity(role) } as GatewayContext);
  };

  it('refuses an anonymous caller before the subscription is planned or opened', async () => {
    await expect(admit('subscription { ticks }', null)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      details: { refusedFields: ['ticks'] },
    });
  });

  it('refuses a USER an ADMIN field with FORBIDDEN, and lets an ADMIN through', async () => {
    await expect(admit('subscription { alarms }', 'USER')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(admit('subscription { alarms }', 'ADMIN')).resolves.toBeUndefined();
    await expect(admit('subscription { ticks }', 'USER')).resolves.toBeUndefined();
  });
});
