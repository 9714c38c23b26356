import type { Redis } from 'ioredis';
import { once } from 'node:events';
import type { Logger } from '../../common/logging/logger';
import { createRedis } from '../../common/stores/redis';
import type { BaseContext } from '../../common/server/subgraph-server';
import type { ChatConfig } from './config';
import type { ChatContext } from './context';
import { type ConversationClient, ConversationSubgraphClient } from './clients/conversation.client';
import { GenerationRunner, maxEventsPerGeneration } from './generation/generation-runner';
import { GenerationSupervisor } from './generation/generation-supervisor';
import { GenerationRecovery } from './jobs/generation-recovery';
import { StopSignals } from './repositories/stop-signal.repository';
import { TitleGenerator } from './generation/title';
import { createProvider } from './providers/create-provider';
import type { ChatProvider } from './providers/provider';
import { ConcurrencyLimiter } from './repositories/concurrency.repository';
import { QuotaService } from './services/quota.service';
import { UsageLedger } from './repositories/usage.repository';
import { stopChannel } from './store/redis-keys';
import { GenerationRepository } from './repositories/generation.repository';
import { ChatService } from './services/chat.service';
import { GenerationService } from './services/generation.service';
import { configuredModels } from './services/model-catalog';
import { UsageService } from './services/usage.service';
import { GenerationEventLog } from './repositories/generation-event.repository';
import { GenerationStreamHub } from './streams/stream-hub';
import { reconnectedWithin } from './store/redis-reconnects';
import { sleep } from './support/sleep';

/** Replacements for the configured provider or conversation subgraph (tests, the benchmark). */
export interface ChatOverrides {
  provider?: ChatProvider;
  conversations?: ConversationClient;
}

/** Everything the chat subgraph runs besides its HTTP server. */
export interface ChatRuntime {
  /** What every request's context carries besides the caller. */
  services: Omit<ChatContext, keyof BaseContext>;
  redis: Redis;
  hub: GenerationStreamHub;
  supervisor: GenerationSupervisor;
  recovery: GenerationRecovery;
  /**
   * Resolves once Redis answers, or after a bounded wait: the client fails fast rather than
   * queueing, so requests taken before it connects would fail. If Redis stays away the
   * service starts anyway and /health says so.
   */
  ready: () => Promise<void>;
  /** Starts recovery: a pass over the conversation subgraph's STREAMING messages, then periodic sweeps. */
  startRecovery: () => void;
  /** Drains running generations (SHUTDOWN_GRACE_MS) and closes the Redis connections. */
  stop: () => Promise<void>;
}

/** A stream nobody finishes (the whole platform down) still goes away after a day. */
const LIVE_STREAM_TTL_SECONDS = 86_400;
const REDIS_STARTUP_WAIT_MS = 5_000;

/**
 * Wires the pipeline: three Redis connections (commands; the blocking stream reader; the
 * stop-signal subscriber), the provider, the conversation client, quotas, the runner and its
 * supervisor, the stream hub, recovery and the services the resolvers call.
 */
export function createChatRuntime(
  config: ChatConfig,
  logger: Logger,
  overrides: ChatOverrides = {},
): ChatRuntime {
  const redisOptions = { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger };
  const redis = createRedis(redisOptions);
  const streamReader = createRedis(redisOptions);
  const stopSubscriber = createRedis(redisOptions);
  const models = configuredModels(config);
  const provider = overrides.provider ?? createProvider(config, logger);
  const conversations =
    overrides.conversations ??
    new ConversationSubgraphClient({
      url: config.CONVERSATION_URL,
      identitySecret: config.IDENTITY_SECRET,
      timeoutMs: config.CONVERSATION_TIMEOUT_MS,
      logger,
    });

  const events = new GenerationEventLog(redis, {
    maxLength: maxEventsPerGeneration(config.LLM_MAX_OUTPUT_TOKENS),
    liveTtlSeconds: LIVE_STREAM_TTL_SECONDS,
    finishedTtlSeconds: config.GENERATION_STREAM_TTL_SECONDS,
  });
  const generations = new GenerationRepository(redis, config.GENERATION_RETENTION_DAYS * 86_400);
  const quotas = new QuotaService(
    new ConcurrencyLimiter(redis, config.GENERATION_LEASE_MS),
    new UsageLedger(redis),
    {
      concurrentGenerations: config.QUOTA_CONCURRENT_GENERATIONS,
      dailyTokens: config.QUOTA_DAILY_TOKENS,
    },
  );
  const runner = new GenerationRunner({
    provider,
    conversations,
    generations,
    events,
    quotas,
    titles: new TitleGenerator(provider, models[0].id, logger),
    settings: {
      systemPrompt: config.SYSTEM_PROMPT,
      contextTokens: config.LLM_CONTEXT_TOKENS,
      maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
      temperature: config.LLM_TEMPERATURE,
      historyMessages: config.HISTORY_MAX_MESSAGES,
      recallEnabled: config.RECALL_ENABLED,
      recallLimit: config.RECALL_LIMIT,
      checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
      leaseMs: config.GENERATION_LEASE_MS,
      finalSaveDeadlineMs: config.FINAL_SAVE_DEADLINE_MS,
    },
    logger,
  });
  const supervisor = new GenerationSupervisor(runner, logger);
  const stopSignals = new StopSignals(redis, stopSubscriber, stopChannel(config.REDIS_KEY_PREFIX), logger);
  stopSignals.listen((generationId) => supervisor.stop(generationId));
  const hub = new GenerationStreamHub(streamReader, redis, events, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    logger,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    stallTimeoutMs: config.STREAM_STALL_TIMEOUT_MS,
    leaseStates: (ids) => generations.leaseStates(ids),
  });
  const restoringRedis = reconnectedWithin(redis, config.STREAM_STALL_TIMEOUT_MS);
  const recovery = new GenerationRecovery({
    generations,
    events,
    conversations,
    quotas,
    leaseMs: config.GENERATION_LEASE_MS,
    isRunningHere: (generationId) => supervisor.isRunning(generationId),
    logger,
  });

  let stopped: Promise<void> | undefined;
  return {
    services: {
      models,
      chat: new ChatService({
        conversations,
        generations,
        quotas,
        supervisor,
        models,
        messageMaxChars: config.MESSAGE_MAX_CHARS,
        leaseMs: config.GENERATION_LEASE_MS,
      }),
      generations: new GenerationService({
        generations,
        events,
        hub,
        supervisor,
        stopSignals,
        restoringRedis,
        logger,
      }),
      usage: new UsageService(quotas),
    },
    redis,
    hub,
    supervisor,
    recovery,
    ready: async () => {
      const waiting = new AbortController();
      await Promise.race([
        redis.status === 'ready' ? undefined : once(redis, 'ready', { signal: waiting.signal }),
        sleep(REDIS_STARTUP_WAIT_MS, waiting.signal),
      ]).catch(() => undefined);
      waiting.abort();
    },
    startRecovery: () => recovery.start(config.RECOVERY_INTERVAL_MS),
    stop: () =>
      (stopped ??= (async () => {
        await recovery.stop();
        await supervisor.shutdown(config.SHUTDOWN_GRACE_MS);
        await hub.stop();
        for (const connection of [redis, streamReader, stopSubscriber]) connection.disconnect();
      })()),
  };
}
