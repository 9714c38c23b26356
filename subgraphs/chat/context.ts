import type { BaseContext } from '../../common/subgraph-server';
import type { ModelInfo } from './services/model-catalog';

export interface ChatContext extends BaseContext {
  models: ModelInfo[];
}
