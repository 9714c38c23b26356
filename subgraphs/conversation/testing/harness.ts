import { randomUUID } from 'node:crypto';
import type { RunningSubgraph } from '../../../common/server/subgraph-server';
import { deleteChromaCollections } from '../../../common/testing/chroma';
import { deleteRedisKeys, dropSchemas } from '../../../common/testing/cleanup';
import { TEST_IDENTITY_SECRET, testServers } from '../../../common/testing/env';
import { type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { signedHeaders } from '../../../common/testing/identity';
import { silentLogger } from '../../../common/testing/logger';
import { startTestPlatform } from '../../../test/support/platform';
import { registerUser } from '../../../common/testing/auth';
import { testNamespace } from '../../../common/testing/namespace';
import { startConversationSubgraph } from '../app';
import { loadConversationConfig } from '../config';

/** Someone sending GraphQL operations, and the user id they act for. */
export interface Client {
  userId: string;
  request: <Data = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLResponse<Data>>;
}

/** How the tests' users reach the subgraph. */
export type Route =
  /** Registered through the auth subgraph and signed in at the gateway, as a client would be. */
  | 'gateway'
  /**
   * Straight to the subgraph with the identity the gateway would sign, for what cannot go
   * through the whole platform (e.g. Redis down for this service alone, Gemini for it alone).
   */
  | 'subgraph';

export interface Harness {
  route: Route;
  subgraph: RunningSubgraph;
  /** The conversation subgraph's environment. */
  env: Record<string, string>;
  /** A new user calling the public API (through the route). */
  newUser: () => Promise<Client>;
  /** A client that has not signed in. */
  anonymous: Client;
  /** The same user calling the subgraph directly, as the gateway does (e.g. for `_entities`). */
  direct: (user: Client) => Client;
  /** The chat subgraph calling the internal operations for `userId` (or for no user). */
  chatFor: (userId: string | null) => Client;
  /** A page of `user`'s conversations: `me { conversations }` or `User` by `_entities`. */
  conversationsOf: <Connection>(
    user: Client,
    selection: string,
    page: { first: number; after?: string | null },
  ) => Promise<GraphQLResponse<Connection>>;
  stop: () => Promise<void>;
}

const TEST_ENV = { SEARCH_INDEXER_POLL_MS: '100', SEARCH_INDEXER_MAX_BACKOFF_MS: '200' };

/**
 * The conversation subgraph on the real PostgreSQL, Redis and Chroma, in a schema, key prefix
 * and collection prefix of this test file's own: with the whole platform in front of it (the
 * default), or alone.
 */
export async function startConversationHarness(
  label: string,
  { route = 'gateway', env: overrides = {} }: { route?: Route; env?: Record<string, string> } = {},
): Promise<Harness> {
  const servers = testServers();
  const namespace = testNamespace(label);
  const chromaPrefix = `${namespace}-`;
  const signedClient = (url: string, userId: string | null, issuer: string): Client => ({
    userId: userId ?? '',
    request: (query, variables = {}) =>
      postGraphQL(
        url,
        query,
        variables,
        signedHeaders(userId, { audience: 'conversation', query, variables }, { issuer }),
      ),
  });
  const direct = (subgraph: RunningSubgraph) => ({
    direct: (user: Client) => signedClient(subgraph.url, user.userId, 'gateway'),
    chatFor: (userId: string | null) => signedClient(subgraph.url, userId, 'chat'),
  });
  const cleanChroma = (chromaUrl: string) =>
    deleteChromaCollections(chromaUrl, chromaPrefix).catch(() => undefined);

  if (route === 'gateway') {
    const platform = await startTestPlatform(label, {
      env: { ...TEST_ENV, CHROMA_COLLECTION_PREFIX: chromaPrefix, ...overrides },
    });
    const subgraph = platform.subgraphs.conversation;
    const client = (headers: Record<string, string>, userId: string): Client => ({
      userId,
      request: (query, variables = {}) => postGraphQL(platform.gatewayUrl, query, variables, headers),
    });
    return {
      route,
      subgraph,
      env: { ...platform.env, REDIS_KEY_PREFIX: `${platform.namespace}:conversation:` },
      newUser: async () => {
        const user = await registerUser(platform);
        return client(user.headers, user.id);
      },
      anonymous: client({}, ''),
      ...direct(subgraph),
      conversationsOf: (user, selection, { first, after }) =>
        user
          .request(
            `query($first: Int!, $after: String) { me { conversations(first: $first, after: $after) { ${selection} } } }`,
            {
              first,
              after,
            },
          )
          .then((response) => ({
            ...response,
            data: response.data && (response.data as { me: { conversations: never } }).me.conversations,
          })),
      stop: async () => {
        await platform.stop();
        await cleanChroma(platform.env.CHROMA_URL);
      },
    };
  }

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    IDENTITY_SECRET: TEST_IDENTITY_SECRET,
    DATABASE_URL: servers.databaseUrl,
    REDIS_URL: servers.redisUrl,
    CHROMA_URL: servers.chromaUrl,
    CONVERSATION_DB_SCHEMA: `${namespace}_conversation`,
    REDIS_KEY_PREFIX: `${namespace}:conversation:`,
    // No chat publishes here unless a test does: stored settings are checked by ranges alone.
    MODEL_CATALOG_KEY: `${namespace}:model-catalog`,
    CHROMA_COLLECTION_PREFIX: chromaPrefix,
    CONVERSATION_PORT: '0',
    ...TEST_ENV,
    ...overrides,
  };
  const subgraph = await startConversationSubgraph(loadConversationConfig(env), silentLogger());
  return {
    route,
    subgraph,
    env,
    newUser: async () => signedClient(subgraph.url, randomUUID(), 'gateway'),
    anonymous: signedClient(subgraph.url, null, 'gateway'),
    ...direct(subgraph),
    conversationsOf: (user, selection, { first, after }) =>
      user
        .request(
          `query($user: _Any!, $first: Int!, $after: String) {
            _entities(representations: [$user]) { ... on User { conversations(first: $first, after: $after) { ${selection} } } }
          }`,
          { user: { __typename: 'User', id: user.userId }, first, after },
        )
        .then((response) => ({
          ...response,
          data:
            response.data &&
            (response.data as { _entities: { conversations: never }[] })._entities[0].conversations,
        })),
    stop: async () => {
      await subgraph.stop();
      await dropSchemas(servers.databaseUrl, [env.CONVERSATION_DB_SCHEMA]);
      await deleteRedisKeys(servers.redisUrl, `${namespace}:`);
      await cleanChroma(env.CHROMA_URL);
    },
  };
}

/** The data of a response that must have succeeded; fails the test with its errors otherwise. */
export function dataOf<Data>(response: GraphQLResponse<Data>): Data {
  if (response.errors?.length || !response.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

export const APPEND = `mutation Append($input: AppendMessageInput!) {
  appendMessage(input: $input) { id role content status conversation { id } parent { id } }
}`;

export interface AppendedMessage {
  id: string;
  role: string;
  content: string;
  status: string;
  conversation: { id: string };
  parent: { id: string } | null;
}

/** Appends through the internal API as the chat subgraph would, acting for `user`. */
export async function append(
  harness: Harness,
  user: Client,
  input: {
    conversationId?: string | null;
    parentId?: string | null;
    asRoot?: boolean;
    role?: string;
    content: string;
    status?: string;
  },
): Promise<AppendedMessage> {
  const response = await harness
    .chatFor(user.userId)
    .request<{ appendMessage: AppendedMessage }>(APPEND, { input: { role: 'USER', ...input } });
  return dataOf(response).appendMessage;
}
