import { Ctx, Query, Resolver } from 'type-graphql';
import type { ChatContext } from '../context';
import { Model, providerOf } from '../schema/model';

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'The models you can chat with.' })
  models(@Ctx() { models }: ChatContext): Model[] {
    return models.map((model) => ({ ...model, provider: providerOf(model.provider) }));
  }
}
