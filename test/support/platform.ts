import type { Logger } from '../../common/logging/logger';
import type { RunningSubgraph } from '../../common/server/subgraph-server';
import { startGateway, type RunningGateway } from '../../gateway/app';
import { loadGatewayConfig } from '../../gateway/config';
import { startAuthSubgraph } from '../../subgraphs/auth/app';
import { loadAuthConfig } from '../../subgraphs/auth/config';
import { startChatSubgraph } from '../../subgraphs/chat/app';
import { loadChatConfig } from '../../subgraphs/chat/config';
import { startConversationSubgraph } from '../../subgraphs/conversation/app';
import { loadConversationConfig } from '../../subgraphs/conversation/config';
import { deleteRedisKeys, dropSchemas } from '../../common/testing/cleanup';
import { testServers, TEST_IDENTITY_SECRET } from '../../common/testing/env';
import { silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';

export interface TestPlatform {
  namespace: string;
  gatewayUrl: string;
  subgraphs: { auth: RunningSubgraph; conversation: RunningSubgraph; chat: RunningSubgraph };
  gateway: RunningGateway;
  /** Starts another gateway replica over the same subgraphs and Redis, stopped with the platform. */
  addGateway: () => Promise<RunningGateway>;
  /** The environment every service was started with (ports aside). */
  env: Record<string, string>;
  stop: () => Promise<void>;
}

export interface TestPlatformOptions {
  /** Extra or overriding environment variables for every service. */
  env?: Record<string, string>;
  /** Overrides for the gateway alone, subgraph URLs included (say, to put a relay in between). */
  gatewayEnv?: Record<string, string>;
  /** Variables for one service only, over `env` (say, a Redis of a fault test's own for the subgraphs). */
  serviceEnv?: Partial<Record<'auth' | 'conversation' | 'chat' | 'gateway', Record<string, string>>>;
  logger?: Logger;
  /** The gateway's clock for access tokens, for a test that moves time instead of waiting. */
  gatewayClock?: () => number;
}

/**
 * The environment every service of a test platform gets, ports aside, in the namespace's own schemas
 * and revocation keys: for startTestPlatform, and for harnesses that run the services as processes.
 */
export function testPlatformEnv(
  namespace: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const servers = testServers();
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: servers.databaseUrl,
    REDIS_URL: servers.redisUrl,
    CHROMA_URL: servers.chromaUrl,
    IDENTITY_SECRET: TEST_IDENTITY_SECRET,
    AUTH_DB_SCHEMA: `${namespace}_auth`,
    CONVERSATION_DB_SCHEMA: `${namespace}_conversation`,
    AUTH_PORT: '0',
    CONVERSATION_PORT: '0',
    CHAT_PORT: '0',
    GATEWAY_PORT: '0',
    // Auth writes and the gateway reads the same revocation keys, so both get this prefix.
    SESSION_REVOCATION_PREFIX: `${namespace}:revoked-session:`,
    // Chat publishes and conversation reads the same model catalog, so both get this key.
    MODEL_CATALOG_KEY: `${namespace}:model-catalog`,
    // Cheap password hashing: tests check behaviour, not the cost of a guess.
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_ITERATIONS: '1',
    // Test files sign up many users from one address; the gateway's rate-limit tests set their own budgets.
    RATE_LIMIT_OPERATIONS: '1000000/60',
    RATE_LIMIT_CHAT_SENDS: '1000000/60',
    RATE_LIMIT_AUTH_ATTEMPTS: '1000000/60',
    RATE_LIMIT_SUBSCRIPTIONS: '1000000/60',
    CONVERSATION_CREATION_BUDGET: '1000000/60',
    ...overrides,
  };
}

/** A service's Redis key prefix in the namespace (every key under `<namespace>:`, which cleanup deletes). */
export const testRedisPrefix = (namespace: string, service: string) => `${namespace}:${service}:`;

/**
 * The whole platform in this process on free ports: three subgraphs and the gateway, on the
 * real PostgreSQL, Redis and Chroma, in a schema/prefix namespace of this test file's own.
 */
export async function startTestPlatform(
  label: string,
  options: TestPlatformOptions = {},
): Promise<TestPlatform> {
  const namespace = testNamespace(label);
  const logger = options.logger ?? silentLogger();
  const env = testPlatformEnv(namespace, options.env);
  /** A service's variables: the common ones, the URLs of the others (`wired`), then the test's own. */
  const prefixed = (
    service: keyof NonNullable<TestPlatformOptions['serviceEnv']>,
    wired: Record<string, string> = {},
  ) => ({
    ...env,
    REDIS_KEY_PREFIX: testRedisPrefix(namespace, service),
    ...wired,
    ...options.serviceEnv?.[service],
  });
  const started: { stop: () => Promise<void> }[] = [];
  const stop = async () => {
    for (const server of started.reverse()) await server.stop();
    // The servers the services used: a fault test may give them stores of its own.
    await dropSchemas(env.DATABASE_URL, [env.AUTH_DB_SCHEMA, env.CONVERSATION_DB_SCHEMA]);
    await deleteRedisKeys(env.REDIS_URL, `${namespace}:`);
  };
  try {
    const results = await Promise.allSettled([
      startAuthSubgraph(loadAuthConfig(prefixed('auth')), logger.child({ service: 'auth' })),
      startConversationSubgraph(
        loadConversationConfig(prefixed('conversation')),
        logger.child({ service: 'conversation' }),
      ),
    ]);
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const [auth, conversation] = started as RunningSubgraph[];
    // Chat calls the conversation subgraph directly, so it starts once that one's URL is known.
    const chat = await startChatSubgraph(
      loadChatConfig(prefixed('chat', { CONVERSATION_URL: conversation.url })),
      logger.child({ service: 'chat' }),
    );
    started.push(chat);
    const startReplica = async () => {
      const replica = await startGateway(
        loadGatewayConfig({
          ...prefixed('gateway', {
            AUTH_URL: auth.url,
            CONVERSATION_URL: conversation.url,
            CHAT_URL: chat.url,
          }),
          ...options.gatewayEnv,
        }),
        logger.child({ service: 'gateway' }),
        { now: options.gatewayClock },
      );
      started.push(replica);
      return replica;
    };
    const gateway = await startReplica();
    return {
      namespace,
      gatewayUrl: gateway.url,
      subgraphs: { auth, conversation, chat },
      gateway,
      addGateway: startReplica,
      env,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
