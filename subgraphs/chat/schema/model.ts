import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum Provider {
  OFFLINE = 'OFFLINE',
  GEMINI = 'GEMINI',
  OPENAI_COMPATIBLE = 'OPENAI_COMPATIBLE',
}
registerEnumType(Provider, { name: 'Provider', description: 'Where a model runs.' });

@ObjectType({ description: 'A model this deployment can generate with.' })
export class Model {
  @Field(() => ID)
  id!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  description!: string;

  @Field({ description: 'Used when a message names no model.' })
  isDefault!: boolean;
}
