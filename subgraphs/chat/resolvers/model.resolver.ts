import { Ctx, Query, Resolver } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ChatContext } from '../context';
import { capabilityOf, Model, providerOf } from '../schema/model.type';

/** Models `Query.models` lists, at most (OpenAI alone lists about a hundred). */
const MAX_MODELS = 200;

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'The models of every configured provider, available or not.' })
  @ListSizeDirective({ assumedSize: MAX_MODELS })
  models(@Ctx() { models }: ChatContext): Model[] {
    return models
      .list()
      .slice(0, MAX_MODELS)
      .map((model) => ({
        ...model,
        provider: providerOf(model.provider),
        capabilities: model.capabilities.map(capabilityOf),
      }));
  }
}
