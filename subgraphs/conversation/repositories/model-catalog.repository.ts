import type { Logger } from '../../../common/logging/logger';
import type { PublishedModel, PublishedModelCatalog } from '../../../common/stores/published-model-catalog';

/** How long one read of the published catalog is reused: a burst of saves costs one Redis read. */
export const MODEL_CATALOG_CACHE_MS = 1_000;

/**
 * The models chat last published (docs/where-it-lives.md#checking-settings-against-the-model-catalog),
 * read through a short in-process cache. Null when there is none to check against — no chat has
 * published yet, its publication expired, or Redis cannot answer — which is logged at warn once
 * each time it starts (and at info when a catalog is back).
 */
export class ModelCatalogRepository {
  private cached: { models: PublishedModel[] | null; until: number } | undefined;
  private reading: Promise<PublishedModel[] | null> | undefined;
  private degraded = false;

  constructor(
    private readonly catalog: PublishedModelCatalog,
    private readonly logger: Logger,
    private readonly cacheMs = MODEL_CATALOG_CACHE_MS,
  ) {}

  async models(): Promise<PublishedModel[] | null> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.models;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<PublishedModel[] | null> {
    let models: PublishedModel[] | null;
    let problem: unknown;
    try {
      models = (await this.catalog.read())?.models ?? null;
    } catch (error) {
      models = null;
      problem = error;
    }
    if (models === null && !this.degraded) {
      this.logger.warn(
        { err: problem },
        'no model catalog published by chat; settings are stored without checking their model (chat checks it at every turn)',
      );
    } else if (models !== null && this.degraded) {
      this.logger.info('model catalog published by chat again; settings are checked against it');
    }
    this.degraded = models === null;
    this.cached = { models, until: Date.now() + this.cacheMs };
    return models;
  }
}
