import { Ctx, Query, Resolver } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ChatContext } from '../context';
import { Model, providerOf } from '../schema/model.type';

/** Models `Query.models` lists, at most (a deployment configures one per provider). */
const MAX_MODELS = 10;

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'The models you can chat with.' })
  @ListSizeDirective({ assumedSize: MAX_MODELS })
  models(@Ctx() { models }: ChatContext): Model[] {
    return models.slice(0, MAX_MODELS).map((model) => ({ ...model, provider: providerOf(model.provider) }));
  }
}
