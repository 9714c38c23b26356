import type { ProviderName } from '../config';
import { type ChatProvider, type ProviderChunk, ProviderError, type ProviderRequest } from './provider';

/** `ollama/llama3.1` → `ollama` and `llama3.1`; null for an id with no namespace. */
export function splitModelId(id: string): { provider: string; model: string } | null {
  const slash = id.indexOf('/');
  return slash > 0 && slash < id.length - 1
    ? { provider: id.slice(0, slash), model: id.slice(slash + 1) }
    : null;
}

/**
 * Sends each request to the provider its namespaced model id names, with the model's own name:
 * the generation pipeline sees one provider and keeps the namespaced id in its records.
 */
export class ModelRouter implements ChatProvider {
  constructor(
    /** The default model's provider: what the pipeline treats as "the" provider (titles). */
    readonly name: ProviderName,
    private readonly providers: ReadonlyMap<string, ChatProvider>,
  ) {}

  stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    const [provider, routed] = this.route(request);
    return provider.stream(routed, signal);
  }

  complete(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    const [provider, routed] = this.route(request);
    return provider.complete(routed, signal);
  }

  private route(request: ProviderRequest): [ChatProvider, ProviderRequest] {
    const id = splitModelId(request.model);
    const provider = id && this.providers.get(id.provider);
    if (!id || !provider) {
      throw new ProviderError('rejected', `No configured provider serves the model ${request.model}`);
    }
    return [provider, { ...request, model: id.model }];
  }
}
