import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { ProviderName } from '../config';

export enum Provider {
  OFFLINE = 'OFFLINE',
  GEMINI = 'GEMINI',
  OPENAI_COMPATIBLE = 'OPENAI_COMPATIBLE',
}
registerEnumType(Provider, { name: 'Provider', description: 'Where a model runs.' });

const PROVIDERS: Record<ProviderName, Provider> = {
  offline: Provider.OFFLINE,
  gemini: Provider.GEMINI,
  'openai-compatible': Provider.OPENAI_COMPATIBLE,
};

export const providerOf = (name: ProviderName): Provider => PROVIDERS[name];

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
