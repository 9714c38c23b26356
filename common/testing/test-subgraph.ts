import type { GraphQLSchema } from 'graphql';
import type Redis from 'ioredis';
import { loadConfig } from '../config/load-config';
import { operationLimitsEnv } from '../graphql/operation-limits';
import { RedisNonceStore } from '../identity/identity-verifier';
import {
  type BaseContext,
  type RunningSubgraph,
  startSubgraphServer,
  type SubgraphServerOptions,
} from '../server/subgraph-server';
import { TEST_IDENTITY_SECRET } from './env';
import { silentLogger } from './logger';

export interface TestSubgraphOptions {
  name: string;
  schema: GraphQLSchema;
  /** Where the signed identities' nonces are remembered: a client under the test file's own key prefix. */
  redis: Redis;
  subscriptions?: SubgraphServerOptions<BaseContext>['subscriptions'];
  /** The operation-limit variables the guard reads (and NODE_ENV), as a service's environment gives them. */
  env?: Record<string, string>;
}

/**
 * The subgraph server every service runs (common/server/subgraph-server.ts) around a test's own small
 * schema, on a free port, taking identities signed with the test secret: for tests of the server itself
 * and of the gateway in front of it.
 */
export function startTestSubgraph({
  name,
  schema,
  redis,
  subscriptions,
  env = {},
}: TestSubgraphOptions): Promise<RunningSubgraph> {
  return startSubgraphServer({
    name,
    schema,
    subscriptions,
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    identitySecret: TEST_IDENTITY_SECRET,
    nonces: new RedisNonceStore(redis),
    healthChecks: {},
    guard: { NODE_ENV: env.NODE_ENV ?? 'test', ...loadConfig(operationLimitsEnv, env) },
    createContext: (base) => base,
  });
}
