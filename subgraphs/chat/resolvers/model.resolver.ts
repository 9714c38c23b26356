import { Ctx, Query, Resolver } from 'type-graphql';
import type { ChatContext } from '../context';
import { Model, Provider } from '../schema/model';

const PROVIDERS = {
  offline: Provider.OFFLINE,
  gemini: Provider.GEMINI,
  'openai-compatible': Provider.OPENAI_COMPATIBLE,
};

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'The models you can chat with.' })
  models(@Ctx() { models }: ChatContext): Model[] {
    return models.map((model) => ({ ...model, provider: PROVIDERS[model.provider] }));
  }
}
