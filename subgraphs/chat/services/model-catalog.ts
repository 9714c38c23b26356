import { AppError, UPSTREAM_RETRY_AFTER_SECONDS } from '../../../common/errors/errors';
import type { Logger } from '../../../common/logging/logger';
import type { PublishedModel, PublishedModelCatalog } from '../../../common/stores/published-model-catalog';
import type { ProviderEndpoint, ProviderName } from '../config';
import { splitModelId } from '../providers/model-router';
import type { ModelCapability, ModelSource, ProviderModel } from '../providers/provider';

export interface ModelInfo {
  /** Namespaced: `ollama/llama3.1`. */
  id: string;
  /** The provider's name for it: `llama3.1`. */
  name: string;
  /** The namespace: the configured provider's name. */
  providerName: string;
  provider: ProviderName;
  displayName: string;
  description: string;
  contextWindow: number | null;
  outputTokenLimit: number | null;
  /** The highest temperature it accepts, where its provider says. */
  maxTemperature: number | null;
  capabilities: ModelCapability[];
  /** Whether its provider answered the last time it was asked. */
  available: boolean;
  isDefault: boolean;
}

/** The id the offline model had before ids were namespaced; generation records may still carry it. */
const LEGACY_OFFLINE_MODEL_ID = 'offline-echo (not a language model)';

export interface CatalogSource {
  endpoint: ProviderEndpoint;
  models: ModelSource;
}

export interface ModelCatalogOptions {
  defaultModel: string;
  listTimeoutMs: number;
  logger: Logger;
  /** Where every refresh is published for the conversation subgraph's checks of stored settings. */
  publication?: CatalogPublication;
}

export interface CatalogPublication {
  catalog: PublishedModelCatalog;
  /** How long a publication lives: a few refresh intervals, so that one no chat renews expires. */
  ttlMs: number;
  /** The deployment's output limit (LLM_MAX_OUTPUT_TOKENS), which bounds every model's. */
  maxOutputTokens: number;
}

export interface ModelCatalogReport {
  defaultModel: string;
  /** Why the default model cannot be used, naming what is served instead; null when it can. */
  problem: string | null;
  served: string[];
  providers: { name: string; available: boolean; models: number }[];
}

interface ProviderState {
  /** The last list the provider gave; null until it has answered once. */
  models: ProviderModel[] | null;
  available: boolean;
  /** Whether the last listing failed (so that a provider's going and coming back is logged once each). */
  failed: boolean;
}

/**
 * The models every configured provider serves, as each last said: asked at start and then every
 * interval. A provider that fails keeps its last good list, marked unavailable, until it answers
 * again; sending to one of its models is refused meanwhile with an error naming the model.
 */
export class ModelCatalog {
  private readonly states = new Map<string, ProviderState>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** Whether the last publication failed (so that Redis going and coming back is logged once each). */
  private publishFailed = false;

  constructor(
    private readonly sources: readonly CatalogSource[],
    private readonly options: ModelCatalogOptions,
  ) {
    for (const { endpoint } of sources)
      this.states.set(endpoint.name, { models: null, available: false, failed: false });
  }

  get defaultModel(): string {
    return this.options.defaultModel;
  }

  /** Asks every provider now, then every `intervalMs` in the background. */
  async start(intervalMs: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  /** Asks every provider for its models at once, then publishes the list; one refresh runs at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= Promise.all(this.sources.map((source) => this.refreshOne(source)))
      .then(() => this.publish())
      .then(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Every known model, provider by provider in the configuration's order. */
  list(): ModelInfo[] {
    return this.sources.flatMap(({ endpoint }) => {
      const state = this.states.get(endpoint.name) as ProviderState;
      const models = state.models ?? this.assumedModels(endpoint);
      return models.map((model) => this.info(endpoint, model, state.available));
    });
  }

  /**
   * The model a message goes to: the default when none is named. An id without a namespace (as
   * sent before ids had one) is taken as the first model of that name. Unknown: BAD_USER_INPUT;
   * its provider down: UPSTREAM_UNAVAILABLE; both name the model.
   */
  resolve(requested: string | null | undefined): ModelInfo {
    const id = this.namespaced(requested ?? this.options.defaultModel);
    const parts = splitModelId(id);
    const source = parts && this.sources.find(({ endpoint }) => endpoint.name === parts.provider);
    const state = source && this.states.get(source.endpoint.name);
    if (!parts || !source || !state) throw unknownModel(id);
    const listed = (state.models ?? this.assumedModels(source.endpoint)).find(
      (model) => model.name === parts.model,
    );
    if (!state.available && (listed || state.models === null)) throw unavailableModel(id);
    if (!listed) throw unknownModel(id);
    return this.info(source.endpoint, listed, true);
  }

  /** Why the default model cannot be used, with what is served instead; null when it can. */
  defaultModelProblem(): string | null {
    const served = this.list().filter((model) => model.available);
    if (served.some((model) => model.isDefault)) return null;
    const names = served.map((model) => model.id).join(', ') || 'none';
    return `The default model ${this.options.defaultModel} is not served by any provider; served: ${names}`;
  }

  /** For operators (`/health` details): the default, whether it is served, and each provider's state. */
  report(): ModelCatalogReport {
    return {
      defaultModel: this.options.defaultModel,
      problem: this.defaultModelProblem(),
      served: this.list()
        .filter((model) => model.available)
        .map((model) => model.id),
      providers: this.sources.map(({ endpoint }) => {
        const state = this.states.get(endpoint.name) as ProviderState;
        return { name: endpoint.name, available: state.available, models: state.models?.length ?? 0 };
      }),
    };
  }

  private namespaced(id: string): string {
    if (splitModelId(id)) return id;
    if (id === LEGACY_OFFLINE_MODEL_ID) return 'offline/echo';
    const match = this.list().find((model) => model.name === id);
    return match?.id ?? id;
  }

  /** Before a provider has answered, the default model is known to be meant for it. */
  private assumedModels(endpoint: ProviderEndpoint): ProviderModel[] {
    const parts = splitModelId(this.options.defaultModel);
    return parts?.provider === endpoint.name ? [{ name: parts.model, capabilities: [] }] : [];
  }

  private info(endpoint: ProviderEndpoint, model: ProviderModel, available: boolean): ModelInfo {
    const id = `${endpoint.name}/${model.name}`;
    return {
      id,
      name: model.name,
      providerName: endpoint.name,
      provider: endpoint.kind,
      displayName: model.displayName ?? model.name,
      description: model.description ?? describeProvider(endpoint),
      contextWindow: model.contextWindow ?? null,
      outputTokenLimit: model.outputTokenLimit ?? null,
      maxTemperature: model.maxTemperature ?? null,
      capabilities: model.capabilities,
      available,
      isDefault: id === this.options.defaultModel,
    };
  }

  /** Never rejects: without a publication the conversation subgraph only checks less (and says so). */
  private async publish(): Promise<void> {
    const publication = this.options.publication;
    if (!publication) return;
    const models: PublishedModel[] = this.list().map((model) => ({
      id: model.id,
      name: model.name,
      provider: model.providerName,
      maxOutputTokens: Math.min(
        publication.maxOutputTokens,
        model.outputTokenLimit ?? publication.maxOutputTokens,
      ),
      maxTemperature: model.maxTemperature,
      available: model.available,
      isDefault: model.isDefault,
    }));
    try {
      await publication.catalog.publish(models, publication.ttlMs);
      if (this.publishFailed) this.options.logger.info('model catalog published again');
      this.publishFailed = false;
    } catch (error) {
      if (!this.publishFailed) {
        this.options.logger.warn(
          { err: error },
          'model catalog not published; stored settings are not checked against it until it is',
        );
      }
      this.publishFailed = true;
    }
  }

  private async refreshOne({ endpoint, models }: CatalogSource): Promise<void> {
    const state = this.states.get(endpoint.name) as ProviderState;
    try {
      state.models = await models.listModels(AbortSignal.timeout(this.options.listTimeoutMs));
      if (state.failed) {
        this.options.logger.info(
          { provider: endpoint.name, models: state.models.length },
          'model provider answers again; its models are available',
        );
      }
      state.available = true;
      state.failed = false;
    } catch (error) {
      if (!state.failed) {
        this.options.logger.warn(
          { err: error, provider: endpoint.name },
          'model provider did not list its models; its models are unavailable until it does',
        );
      }
      state.available = false;
      state.failed = true;
    }
  }
}

function describeProvider(endpoint: ProviderEndpoint): string {
  switch (endpoint.kind) {
    case 'gemini':
      return 'Google Gemini';
    case 'openai-compatible':
      return `OpenAI-compatible server "${endpoint.name}" at ${new URL(endpoint.baseUrl).host}`;
    case 'offline':
      return 'Built-in offline responder';
  }
}

const unknownModel = (id: string) =>
  new AppError('BAD_USER_INPUT', `Unknown model "${id}"; the models query lists the available ones`, {
    field: 'model',
    model: id,
  });

const unavailableModel = (id: string) =>
  new AppError('UPSTREAM_UNAVAILABLE', `The model ${id} is unavailable: its provider is not answering`, {
    model: id,
    dependency: id,
    retryAfter: UPSTREAM_RETRY_AFTER_SECONDS,
  });
