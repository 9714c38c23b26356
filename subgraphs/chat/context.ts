import type { BaseContext } from '../../common/server/subgraph-server';
import type { ChatService } from './services/chat.service';
import type { GenerationService } from './services/generation.service';
import type { ModelCatalog } from './services/model-catalog';
import type { UsageService } from './services/usage.service';

/** The services are process-wide (they hold no per-request state); identity comes per call. */
export interface ChatContext extends BaseContext {
  models: ModelCatalog;
  chat: ChatService;
  generations: GenerationService;
  usage: UsageService;
}
