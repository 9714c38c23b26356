import type { PersistedQueryOptions } from '@apollo/server';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { AppError, badRequest } from '../../common/errors/errors';
import type { Logger } from '../../common/logging/logger';
import type { GatewayContext } from '../context';
import { persistedHashOf } from '../transports/multipart';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

/** Apollo's key-value cache interface, as its persisted-query option takes it. */
type KeyValueCache = NonNullable<PersistedQueryOptions['cache']>;

/** A safelist: sha256 (hex) of each allowed document → the document. */
export type Safelist = ReadonlyMap<string, string>;

/** What may be registered through APQ, and by whom. */
export interface ApqRegistration {
  /** Largest document stored, in bytes as sent (comments and whitespace count). */
  maxDocumentBytes: number;
  /** Documents one signed-in caller may register per window; anonymous callers register none. */
  perCaller: { points: number; durationSeconds: number };
}

export type PersistedQueriesOptions =
  | {
      /**
       * Apollo's automatic persisted queries: a signed-in caller may register a document by its
       * hash, within `registration`; a safelist, when given, answers lookups first (for anyone).
       */
      mode: 'apq';
      redis: Redis;
      ttlSeconds: number;
      registration: ApqRegistration;
      safelist?: Safelist;
      logger: Logger;
    }
  | {
      /** Only the documents of a manifest run, by hash or in full; nothing can be registered. */
      mode: 'safelist';
      safelist: Safelist;
    };

export const DEFAULT_APQ_TTL_SECONDS = 24 * 3600;
export const DEFAULT_APQ_REGISTRATION: ApqRegistration = {
  maxDocumentBytes: 8 * 1024,
  perCaller: { points: 20, durationSeconds: 3600 },
};

/** Apollo prefixes its cache keys (`apq:<hash>`); the hash is what follows the last colon. */
const cacheKeyOf = (hash: string) => `apq:${hash}`;
const hashOf = (key: string) => key.slice(key.lastIndexOf(':') + 1);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Reads a persisted-documents manifest, `{ "<sha256 hex>": "<document>" }`, as graphql-codegen's
 * client preset writes it with `persistedDocuments: { hashAlgorithm: 'sha256' }`. Every hash is
 * checked against its document, so a manifest built with another algorithm fails at start.
 */
export function loadSafelist(path: string): Safelist {
  const manifest: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new Error(`${path}: a persisted-documents manifest is a JSON object of hash → document`);
  }
  const safelist = new Map<string, string>();
  for (const [hash, document] of Object.entries(manifest)) {
    if (typeof document !== 'string' || sha256(document) !== hash) {
      throw new Error(
        `${path}: the entry ${hash} is not the sha256 of its document (use hashAlgorithm: 'sha256')`,
      );
    }
    safelist.set(hash, document);
  }
  return safelist;
}

/**
 * Apollo's persisted-query cache as lookups only: the safelist first (when there is one), then
 * Redis, shared by the replicas. Apollo's own registration (`set`) is ignored: whether a document
 * is stored is decided where the caller is known (usePersistedQueries, below). It fails soft:
 * while Redis is down a lookup is a miss, so clients send the full document (APQ's own retry).
 */
export class PersistedDocuments implements KeyValueCache {
  constructor(
    private readonly redis: Redis | undefined,
    private readonly safelist: Safelist = new Map(),
  ) {}

  async get(key: string): Promise<string | undefined> {
    const listed = this.safelist.get(hashOf(key));
    if (listed !== undefined || !this.redis) return listed;
    return (await this.redis.get(key).catch(() => null)) ?? undefined;
  }

  async set(): Promise<void> {}

  async delete(): Promise<void> {}
}

const notInSafelist = () =>
  new AppError('FORBIDDEN', 'Only the operations of the published clients run here', { limit: 'safelist' });

/** Why a document sent for registration is not stored; undefined when it may be. */
type RegistrationRefusal = 'anonymous' | 'documentSize' | 'perCaller';

/**
 * Persisted queries: Apollo's APQ protocol (a hash instead of the document, registered on a
 * miss) with the documents in Redis, or, for production, a safelist that refuses every document
 * not in the clients' manifest, whether sent by hash or in full, over HTTP, WebSocket and SSE alike.
 *
 * Under APQ a registration is stored only for a signed-in caller, for a document no larger than
 * `maxDocumentBytes` as sent (comments included), and within the caller's budget of registrations
 * per window; otherwise the operation still runs and nothing is stored (the client sends the full
 * document again next time, APQ's ordinary retry). Anonymous callers can use the safelist's hashes
 * and documents others registered, but never fill Redis.
 */
export function usePersistedQueries(options: PersistedQueriesOptions): GatewayPlugin {
  if (options.mode === 'apq') return useAutomaticPersistedQueries(options);
  const { safelist } = options;
  return {
    name: 'persisted-queries',
    apolloSettings: { persistedQueries: { cache: new PersistedDocuments(undefined, safelist), ttl: null } },
    documentByHash: async (hash) => safelist.get(hash),
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ queryHash }) {
            if (!safelist.has(queryHash)) throw httpRefusal(notInSafelist());
          },
        };
      },
    },
    subscriptions: {
      admit: async (request) => {
        if (!safelist.has(sha256(request.query))) throw notInSafelist();
      },
    },
  };
}

function useAutomaticPersistedQueries(
  options: Extract<PersistedQueriesOptions, { mode: 'apq' }>,
): GatewayPlugin {
  const { redis, ttlSeconds, registration, logger } = options;
  const budget = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'apq-registrations',
    points: registration.perCaller.points,
    duration: registration.perCaller.durationSeconds,
  });
  const documents = new PersistedDocuments(redis, options.safelist);
  /** Why this registration is not stored; undefined once it may be (its budget point is spent). */
  const refusalOf = async (
    userId: string | null,
    hash: string,
    document: string,
  ): Promise<RegistrationRefusal | 'stored' | undefined> => {
    if (!userId) return 'anonymous';
    if (Buffer.byteLength(document) > registration.maxDocumentBytes) return 'documentSize';
    // A client that sends the document with its hash every time spends no budget on a stored one.
    if ((await redis.exists(cacheKeyOf(hash)).catch(() => 0)) === 1) return 'stored';
    try {
      await budget.consume(userId);
      return undefined;
    } catch {
      // Spent, or Redis is down (then nothing could be stored anyway).
      return 'perCaller';
    }
  };
  /** Stores `document` under `hash` for `context`'s caller, unless a rule above says not to. */
  const register = async (hash: string, document: string, context: GatewayContext): Promise<void> => {
    if (options.safelist?.has(hash)) return;
    const refusal = await refusalOf(context.identity.userId, hash, document);
    if (refusal === 'stored') return;
    if (refusal) {
      logger.debug({ requestId: context.requestId, reason: refusal }, 'persisted query not stored');
      return;
    }
    await redis.set(cacheKeyOf(hash), document, 'EX', ttlSeconds).catch(() => undefined);
  };
  return {
    name: 'persisted-queries',
    apolloSettings: {
      // Apollo's own `set` is ignored (PersistedDocuments), so its ttl is unused: see executionDidStart.
      persistedQueries: { cache: documents, ttl: null },
    },
    documentByHash: (hash) => documents.get(cacheKeyOf(hash)),
    apollo: {
      async requestDidStart() {
        return {
          // Once the operation has passed validation and every plugin's checks, as Apollo itself
          // would register it, but knowing who asks.
          async executionDidStart({ metrics, queryHash, source, contextValue }) {
            if (metrics.persistedQueryRegister) await register(queryHash, source, contextValue);
          },
        };
      },
    },
    subscriptions: {
      // As Apollo over HTTP: a hash that is not its document's, or another APQ version, is refused.
      admit: async (request) => {
        const persisted = (
          request.extensions as { persistedQuery?: { version?: unknown } } | null | undefined
        )?.persistedQuery;
        if (persisted === undefined) return;
        if (persisted.version !== 1) throw badRequest('Unsupported persisted query version');
        if (persistedHashOf(request.extensions) !== sha256(request.query))
          throw badRequest('provided sha does not match query');
      },
      // A subscription sent in full with its hash (Apollo Client's persisted-queries link over
      // multipart, graphql-ws or SSE) is registered once it opens, so that it can be sent by hash.
      opened: (request, context) => {
        const hash = persistedHashOf(request.extensions);
        if (hash === undefined) return;
        register(hash, request.query, context).catch((error: unknown) =>
          logger.warn({ err: error, requestId: context.requestId }, 'persisted query not stored'),
        );
      },
    },
  };
}
