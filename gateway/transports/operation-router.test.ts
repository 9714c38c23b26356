import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { AppError } from '../../common/errors/errors';
import { createRedis } from '../../common/stores/redis';
import { SharedSlots } from '../../common/stores/shared-slots';
import { deleteRedisKeys } from '../../common/testing/cleanup';
import { testServers } from '../../common/testing/env';
import { silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';
import type { GatewayContext } from '../context';
import type { SubscriptionExecutor } from '../subscriptions/executor';
import { SubscriptionLimits } from '../subscriptions/limits';
import {
  createOperationRouter,
  type ParsedStreamingRequest,
  parseStreamingRequest,
} from './operation-router';

describe('parsing a streaming request', () => {
  const query = 'subscription Follow($id: ID!) { generation(id: $id) { seq type delta } }';

  it('parses a document once, and hands every later request with the same text the same document', () => {
    const first = parseStreamingRequest({ query, variables: { id: 'a' } }, 1000);
    const second = parseStreamingRequest({ query, variables: { id: 'b' } }, 1000);

    expect('document' in first && 'document' in second).toBe(true);
    if (!('document' in first) || !('document' in second)) return;
    expect(second.document).toBe(first.document);
    // The request's own parts stay its own.
    expect(second.variables).toEqual({ id: 'b' });
  });

  it('still refuses a document over the token bound, though the same text parsed under a higher bound', () => {
    expect('document' in (parseStreamingRequest({ query }, 1000) as object)).toBe(true);

    const refused = parseStreamingRequest({ query }, 5);

    expect(Array.isArray(refused)).toBe(true);
    expect((refused as GraphQLError[])[0].message).toBe('The document has more than 5 tokens');
  });

  it('answers a document that does not parse with GRAPHQL_PARSE_FAILED every time', () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = parseStreamingRequest({ query: 'subscription {' }, 1000) as GraphQLError[];
      expect(refused[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    }
  });
});

describe('admitting a subscription', () => {
  const { redisUrl } = testServers();
  const prefix = `${testNamespace('operation_router')}:`;
  const redis = createRedis({ url: redisUrl, keyPrefix: prefix, logger: silentLogger() });
  const userSlots = new SharedSlots(redis, { name: 'subscriptions', ttlMs: 10_000, logger: silentLogger() });
  const limits = new SubscriptionLimits({ perConnection: 10, perUser: 1, userSlots });
  const request = parseStreamingRequest(
    { query: 'subscription { generation(id: "g") { seq } }' },
    1000,
  ) as ParsedStreamingRequest;
  const context = (userId: string) =>
    ({ identity: { userId }, requestId: randomUUID(), logger: silentLogger() }) as unknown as GatewayContext;
  /** An executor whose subscriptions end at once, with no event. */
  const executor = {
    subscribe: () => (async function* () {})(),
  } as unknown as SubscriptionExecutor;
  const apollo = {} as ApolloServer<GatewayContext>;

  afterAll(async () => {
    userSlots.close();
    redis.disconnect();
    await deleteRedisKeys(redisUrl, prefix);
  });

  it("asks the plugins' checks and takes the subscription slot side by side", async () => {
    let checksRunning = false;
    let slotTakenWhileChecking = false;
    const acquire = userSlots.acquire.bind(userSlots);
    const slots = Object.assign(Object.create(userSlots) as SharedSlots, {
      acquire: (owner: string, max: number) => {
        slotTakenWhileChecking = checksRunning;
        return acquire(owner, max);
      },
    });
    const router = createOperationRouter(
      apollo,
      executor,
      new SubscriptionLimits({ perConnection: 10, perUser: 1, userSlots: slots }),
      {
        admit: async () => {
          checksRunning = true;
          await new Promise((resolve) => setTimeout(resolve, 20));
          checksRunning = false;
        },
      },
    );
    const result = (await router(request, context(randomUUID()), {
      connection: {},
    })) as AsyncIterator<unknown>;
    expect(slotTakenWhileChecking).toBe(true);
    await result.return?.();
  });

  it('gives back the slot it took beside checks that refuse the subscription, and answers their refusal', async () => {
    const userId = randomUUID();
    const refusing = createOperationRouter(apollo, executor, limits, {
      admit: async () => {
        throw new AppError('RATE_LIMITED', 'Too many requests');
      },
    });
    const refused = (await refusing(request, context(userId), { connection: {} })) as ExecutionResult;
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['RATE_LIMITED']);

    // Its one slot is free again: a subscription the checks admit takes it.
    const admitting = createOperationRouter(apollo, executor, limits, { admit: async () => undefined });
    const opened = await admitting(request, context(userId), { connection: {} });
    expect(Symbol.asyncIterator in opened).toBe(true);
    const over = (await admitting(request, context(userId), { connection: {} })) as ExecutionResult;
    expect(over.errors?.map((error) => error.extensions?.code)).toEqual(['QUOTA_EXCEEDED']);
    await (opened as AsyncIterator<unknown>).return?.();
  });
});
