import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { RedisNonceStore } from '../../common/identity/identity-verifier';
import type { Logger } from '../../common/logging/logger';
import { DisposalStack } from '../../common/server/disposal-stack';
import {
  type BaseContext,
  type RunningSubgraph,
  startSubgraphServer,
} from '../../common/server/subgraph-server';
import { DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS } from '../../common/server/subgraph-websocket';
import { PublishedModelCatalog } from '../../common/stores/published-model-catalog';
import { createRedis } from '../../common/stores/redis';
import { type ConversationClient, ConversationSubgraphClient } from './clients/conversation.client';
import type { ChatConfig } from './config';
import type { ChatContext } from './context';
import { GenerationRunner, maxEventsPerGeneration } from './generation/generation-runner';
import { GenerationSupervisor } from './generation/generation-supervisor';
import { Recall } from './generation/recall';
import { TitleGenerator } from './generation/title';
import { GenerationRecovery } from './jobs/generation-recovery';
import { createProviders } from './providers/create-provider';
import { ModelRouter, splitModelId } from './providers/model-router';
import type { ChatProvider } from './providers/provider';
import { ConcurrencyRepository } from './repositories/concurrency.repository';
import { GenerationEventRepository } from './repositories/generation-event.repository';
import { GenerationRepository } from './repositories/generation.repository';
import { StopSignalRepository } from './repositories/stop-signal.repository';
import { UsageRepository } from './repositories/usage.repository';
import { buildChatSchema } from './schema';
import { ChatService } from './services/chat.service';
import { GenerationService } from './services/generation.service';
import { ModelCatalog } from './services/model-catalog';
import { QuotaService } from './services/quota.service';
import { UsageService } from './services/usage.service';
import { stopChannel } from './store/redis-keys';
import { reconnectedWithin } from './store/redis-reconnects';
import { StreamReaderRepository } from './repositories/stream-reader.repository';
import { GenerationStreamHub } from './streams/stream-hub';
import { TokenEventPacing } from './streams/token-pacing';
import { sleep } from './support/sleep';

/** Replacements for the configured provider or conversation subgraph (tests, the benchmark). */
export interface ChatOverrides {
  /** Generates in place of the default model's provider (whose models are still listed by it). */
  provider?: ChatProvider;
  conversations?: ConversationClient;
}

/** What every request's context carries besides the caller. */
export type ChatServices = Omit<ChatContext, keyof BaseContext>;

/** Everything the chat subgraph runs besides its HTTP server: what tests of the engine drive directly. */
export interface ChatRuntime {
  services: ChatServices;
  /** The command connection. */
  redis: Redis;
  supervisor: GenerationSupervisor;
  recovery: GenerationRecovery;
  /** Drains running generations (SHUTDOWN_GRACE_MS) and closes the Redis connections. */
  stop: () => Promise<void>;
}

/** A published catalog outlives this many refresh intervals (plus a listing's timeout) unless renewed. */
const CATALOG_TTL_INTERVALS = 3;

/** A stream nobody finishes (the whole platform down) still goes away after a day. */
const LIVE_STREAM_TTL_SECONDS = 86_400;
const REDIS_STARTUP_WAIT_MS = 5_000;

/**
 * Starts the chat subgraph: the engine, then HTTP and graphql-ws on /graphql, then recovery. Every
 * resource is registered on one disposal stack, which `stop()` and a failed start both unwind.
 */
export function startChatSubgraph(
  config: ChatConfig,
  logger: Logger,
  overrides: ChatOverrides = {},
): Promise<RunningSubgraph> {
  const stack = new DisposalStack(logger);
  return stack.build(async () => {
    const runtime = await buildRuntime(stack, config, logger, overrides);
    await untilRedisAnswers(runtime.redis);
    const server = await startSubgraphServer({
      name: 'chat',
      schema: await buildChatSchema(),
      host: config.HOST,
      port: config.CHAT_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(runtime.redis),
      guard: config,
      shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
      healthChecks: { redis: { check: () => runtime.redis.ping(), critical: true } },
      healthDetails: () => ({ models: runtime.services.models.report() }),
      createContext: (base) => ({ ...base, ...runtime.services }),
      subscriptions: { ...DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS, maxConnections: config.WS_MAX_CONNECTIONS },
    });
    stack.use('http server', server, (running) => running.stop());
    // A pass over the conversation subgraph's STREAMING messages, then periodic sweeps.
    runtime.recovery.start(config.RECOVERY_INTERVAL_MS);
    return { ...server, stop: () => stack.dispose() };
  });
}

/** The engine without an HTTP server, on a disposal stack of its own (tests of the engine). */
export function createChatRuntime(
  config: ChatConfig,
  logger: Logger,
  overrides: ChatOverrides = {},
): Promise<ChatRuntime> {
  const stack = new DisposalStack(logger);
  return stack.build(() => buildRuntime(stack, config, logger, overrides));
}

/**
 * Builds the engine, each resource registered on `stack` in the order it needs: the connections to
 * the conversation subgraph, four Redis connections (commands; the blocking stream reader; the
 * stop-signal subscriber; the keys shared with other services, unprefixed), the model catalog (which
 * publishes to the last), the stream hub, the supervisor of running generations, and recovery.
 * Unwound in reverse: recovery stops, running generations drain, the hub stops reading, and the
 * connections close.
 */
async function buildRuntime(
  stack: DisposalStack,
  config: ChatConfig,
  logger: Logger,
  overrides: ChatOverrides,
): Promise<ChatRuntime> {
  const conversations =
    overrides.conversations ??
    stack.use('conversation subgraph connections', conversationClient(config, logger), (client) =>
      client.close(),
    );
  const connect = (name: string) =>
    stack.use(
      name,
      createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger }),
      (redis) => redis.disconnect(),
    );
  const redis = connect('redis');
  const streamReader = connect('redis stream reader');
  const stopSubscriber = connect('redis stop-signal subscriber');
  // The published catalog's key is shared with the conversation subgraph: no key prefix.
  const shared = stack.use(
    'redis shared keys',
    createRedis({ url: config.REDIS_URL, logger }),
    (connection) => connection.disconnect(),
  );
  const connections = createProviders(config, logger);
  const models = stack.use(
    'model catalog',
    new ModelCatalog(connections, {
      defaultModel: config.DEFAULT_MODEL,
      listTimeoutMs: config.MODEL_LIST_TIMEOUT_MS,
      logger,
      publication: {
        catalog: new PublishedModelCatalog(shared, config.MODEL_CATALOG_KEY),
        ttlMs: CATALOG_TTL_INTERVALS * config.MODEL_REFRESH_INTERVAL_MS + config.MODEL_LIST_TIMEOUT_MS,
        maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
      },
    }),
    (catalog) => catalog.stop(),
  );
  // The first publication needs the connection up (commands fail fast until it is).
  await untilRedisAnswers(shared);
  await models.start(config.MODEL_REFRESH_INTERVAL_MS);
  const problem = models.defaultModelProblem();
  if (problem) logger.warn({ defaultModel: config.DEFAULT_MODEL }, problem);

  const events = new GenerationEventRepository(redis, {
    maxLength: maxEventsPerGeneration(config.LLM_MAX_OUTPUT_TOKENS),
    liveTtlSeconds: LIVE_STREAM_TTL_SECONDS,
    finishedTtlSeconds: config.GENERATION_STREAM_TTL_SECONDS,
  });
  const generations = new GenerationRepository(redis, config.GENERATION_RETENTION_DAYS * 86_400);
  const quotas = new QuotaService(
    new ConcurrencyRepository(redis, config.GENERATION_LEASE_MS),
    new UsageRepository(redis),
    {
      concurrentGenerations: config.QUOTA_CONCURRENT_GENERATIONS,
      dailyTokens: config.QUOTA_DAILY_TOKENS,
    },
  );
  const stopSignals = new StopSignalRepository(
    redis,
    stopSubscriber,
    stopChannel(config.REDIS_KEY_PREFIX),
    logger,
  );

  const hub = stack.use(
    'generation stream hub',
    new GenerationStreamHub(
      new StreamReaderRepository(streamReader, redis, `chat-stream-reader:${randomUUID()}`),
      events,
      {
        keyPrefix: config.REDIS_KEY_PREFIX,
        logger,
        heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
        stallTimeoutMs: config.STREAM_STALL_TIMEOUT_MS,
        leaseStates: (ids) => generations.leaseStates(ids),
      },
    ),
    (running) => running.stop(),
  );
  const defaultProvider = splitModelId(config.DEFAULT_MODEL)?.provider;
  const provider = new ModelRouter(
    overrides.provider?.name ??
      (config.PROVIDERS.find((endpoint) => endpoint.name === defaultProvider) ?? config.PROVIDERS[0]).kind,
    new Map(
      connections.map(({ endpoint, provider: own }) => [
        endpoint.name,
        endpoint.name === defaultProvider ? (overrides.provider ?? own) : own,
      ]),
    ),
  );
  const runner = new GenerationRunner({
    provider,
    conversations,
    generations,
    events,
    quotas,
    titles: new TitleGenerator(provider, config.DEFAULT_MODEL, logger),
    settings: runnerSettings(config),
    logger,
    streams: hub,
    pacing: new TokenEventPacing({
      minIntervalMs: config.TOKEN_EVENT_INTERVAL_MS,
      eventsPerSecond: config.TOKEN_EVENTS_PER_SECOND,
      maxIntervalMs: config.TOKEN_EVENT_MAX_INTERVAL_MS,
    }),
  });
  const supervisor = stack.use('running generations', new GenerationSupervisor(runner, logger), (running) =>
    running.shutdown(config.SHUTDOWN_GRACE_MS),
  );
  stopSignals.listen((generationId) => supervisor.stop(generationId));
  const recovery = stack.use(
    'generation recovery',
    new GenerationRecovery({
      generations,
      events,
      conversations,
      quotas,
      leaseMs: config.GENERATION_LEASE_MS,
      reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
      isRunningHere: (generationId) => supervisor.isRunning(generationId),
      logger,
    }),
    (sweeps) => sweeps.stop(),
  );

  const services: ChatServices = {
    models,
    chat: new ChatService({
      conversations,
      generations,
      quotas,
      supervisor,
      models,
      recall: new Recall({
        conversations,
        limit: config.RECALL_LIMIT,
        timeoutMs: config.RECALL_TIMEOUT_MS,
        maxInFlight: config.RECALL_MAX_IN_FLIGHT,
        logger,
      }),
      replyDefaults: {
        systemPrompt: config.SYSTEM_PROMPT,
        temperature: config.LLM_TEMPERATURE,
        maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
        contextTokens: config.LLM_CONTEXT_TOKENS,
        recallEnabled: config.RECALL_ENABLED,
      },
      historyMessages: config.HISTORY_MAX_MESSAGES,
      messageMaxChars: config.MESSAGE_MAX_CHARS,
      leaseMs: config.GENERATION_LEASE_MS,
    }),
    generations: new GenerationService({
      generations,
      events,
      hub,
      supervisor,
      stopSignals,
      restoringRedis: reconnectedWithin(redis, config.STREAM_STALL_TIMEOUT_MS),
      logger,
    }),
    usage: new UsageService(quotas),
  };
  return { services, redis, supervisor, recovery, stop: () => stack.dispose() };
}

function conversationClient(config: ChatConfig, logger: Logger): ConversationSubgraphClient {
  return new ConversationSubgraphClient({
    url: config.CONVERSATION_URL,
    identitySecret: config.IDENTITY_SECRET,
    timeoutMs: config.CONVERSATION_TIMEOUT_MS,
    logger,
  });
}

function runnerSettings(config: ChatConfig) {
  return {
    maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
    checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
    leaseMs: config.GENERATION_LEASE_MS,
    finalSaveDeadlineMs: config.FINAL_SAVE_DEADLINE_MS,
  };
}

/**
 * Resolves once Redis answers, or after a bounded wait: the client fails fast rather than queueing,
 * so requests taken before it connects would fail. If Redis stays away the service starts anyway
 * and /health says so.
 */
async function untilRedisAnswers(redis: Redis): Promise<void> {
  const waiting = new AbortController();
  await Promise.race([
    redis.status === 'ready' ? undefined : once(redis, 'ready', { signal: waiting.signal }),
    sleep(REDIS_STARTUP_WAIT_MS, waiting.signal),
  ]).catch(() => undefined);
  waiting.abort();
}
