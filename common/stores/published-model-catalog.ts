import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * The model catalog as chat last discovered it, shared by chat (which writes it after every
 * refresh) and the conversation subgraph (which checks stored settings against it). One Redis key,
 * MODEL_CATALOG_KEY, outside either service's REDIS_KEY_PREFIX; its value is the JSON of
 * `PublishedCatalog`, expiring a few refresh intervals after it was written so that a catalog no
 * chat refreshes any more goes away. Replicas of chat write the same catalog: the last one wins.
 * Documented in docs/where-it-lives.md#checking-settings-against-the-model-catalog.
 */
export const modelCatalogEnv = {
  MODEL_CATALOG_KEY: z.string().min(1).default('model-catalog'),
};

const publishedModel = z.object({
  /** Namespaced: `ollama/llama3.1`. */
  id: z.string(),
  /** The provider's name for it (`llama3.1`): a stored id without a namespace names the first such model. */
  name: z.string(),
  /** The namespace: the configured provider's name. */
  provider: z.string(),
  /** The most output tokens a reply may ask for: the model's limit within the deployment's. */
  maxOutputTokens: z.number().nullable(),
  /** The highest temperature it accepts, where its provider says. */
  maxTemperature: z.number().nullable(),
  /** Whether its provider answered the last time it was asked. */
  available: z.boolean(),
  /** The model a conversation naming none goes to. */
  isDefault: z.boolean(),
});
export type PublishedModel = z.infer<typeof publishedModel>;

const publishedCatalog = z.object({ publishedAt: z.string(), models: z.array(publishedModel) });
export type PublishedCatalog = z.infer<typeof publishedCatalog>;

export class PublishedModelCatalog {
  /** @param redis a client without a key prefix: MODEL_CATALOG_KEY is the whole key. */
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** Rejects when Redis does not take the write. */
  async publish(models: readonly PublishedModel[], ttlMs: number): Promise<void> {
    const value: PublishedCatalog = { publishedAt: new Date().toISOString(), models: [...models] };
    await this.redis.set(this.key, JSON.stringify(value), 'PX', ttlMs);
  }

  /** The last catalog published, or null when none is (no chat has published, or it expired); rejects when Redis cannot answer. */
  async read(): Promise<PublishedCatalog | null> {
    const raw = await this.redis.get(this.key);
    return raw === null ? null : publishedCatalog.parse(JSON.parse(raw));
  }
}
