import type { PersistedQueryOptions } from '@apollo/server';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '../../common/errors';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

/** Apollo's key-value cache interface, as its persisted-query option takes it. */
type KeyValueCache = NonNullable<PersistedQueryOptions['cache']>;

/** A safelist: sha256 (hex) of each allowed document → the document. */
export type Safelist = ReadonlyMap<string, string>;

export type PersistedQueriesOptions =
  | {
      /** Apollo's automatic persisted queries: any client may register a document by its hash. */
      mode: 'apq';
      redis: Redis;
      ttlSeconds: number;
    }
  | {
      /** Only the documents of a manifest run, by hash or in full; nothing can be registered. */
      mode: 'safelist';
      safelist: Safelist;
    };

export const DEFAULT_APQ_TTL_SECONDS = 24 * 3600;

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
 * Apollo's persisted-query cache in Redis, shared by the replicas. It fails soft: while Redis
 * is down a lookup is a miss, so clients send the full document (the APQ protocol's own retry).
 */
export class RedisKeyValueCache implements KeyValueCache {
  constructor(private readonly redis: Redis) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(key).catch(() => null)) ?? undefined;
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const write = options?.ttl ? this.redis.set(key, value, 'EX', options.ttl) : this.redis.set(key, value);
    await write.catch(() => undefined);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key).catch(() => undefined);
  }
}

/** The manifest as Apollo's persisted-query cache: it answers lookups and ignores registrations. */
class SafelistCache implements KeyValueCache {
  constructor(private readonly safelist: Safelist) {}

  async get(key: string): Promise<string | undefined> {
    // Apollo prefixes its keys (`apq:<hash>`); the hash is what follows the last colon.
    return this.safelist.get(key.slice(key.lastIndexOf(':') + 1));
  }

  async set(): Promise<void> {}

  async delete(): Promise<void> {}
}

const notInSafelist = () =>
  new AppError('FORBIDDEN', 'Only the operations of the published clients run here', { limit: 'safelist' });

/**
 * Persisted queries: Apollo's APQ protocol (a hash instead of the document, registered on a
 * miss) with the cache in Redis, or, for production, a safelist that refuses every document not
 * in the clients' manifest, whether sent by hash or in full, over HTTP, WebSocket and SSE alike.
 */
export function usePersistedQueries(options: PersistedQueriesOptions): GatewayPlugin {
  if (options.mode === 'apq') {
    return {
      name: 'persisted-queries',
      apolloSettings: {
        persistedQueries: { cache: new RedisKeyValueCache(options.redis), ttl: options.ttlSeconds },
      },
    };
  }
  const { safelist } = options;
  return {
    name: 'persisted-queries',
    apolloSettings: { persistedQueries: { cache: new SafelistCache(safelist), ttl: null } },
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
