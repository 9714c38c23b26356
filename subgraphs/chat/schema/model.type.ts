import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ProviderName } from '../config';
import type { ModelCapability as CapabilityName } from '../providers/provider';

export enum Provider {
  OFFLINE = 'OFFLINE',
  GEMINI = 'GEMINI',
  OPENAI_COMPATIBLE = 'OPENAI_COMPATIBLE',
}
registerEnumType(Provider, { name: 'Provider', description: 'The kind of service a model runs on.' });

const PROVIDERS: Record<ProviderName, Provider> = {
  offline: Provider.OFFLINE,
  gemini: Provider.GEMINI,
  'openai-compatible': Provider.OPENAI_COMPATIBLE,
};

export const providerOf = (name: ProviderName): Provider => PROVIDERS[name];

export enum ModelCapability {
  STREAMING = 'STREAMING',
  SYSTEM_PROMPT = 'SYSTEM_PROMPT',
  VISION = 'VISION',
  TOOLS = 'TOOLS',
}
registerEnumType(ModelCapability, {
  name: 'ModelCapability',
  description: 'Something a model is known to support; one its provider does not say it has is not listed.',
});

const CAPABILITIES: Record<CapabilityName, ModelCapability> = {
  streaming: ModelCapability.STREAMING,
  system_prompt: ModelCapability.SYSTEM_PROMPT,
  vision: ModelCapability.VISION,
  tools: ModelCapability.TOOLS,
};

export const capabilityOf = (name: CapabilityName): ModelCapability => CAPABILITIES[name];

@ObjectType({ description: 'A model one of the configured providers serves.' })
export class Model {
  @Field(() => ID, {
    description: 'Namespaced by its provider: `ollama/llama3.1`, `gemini/gemini-3.5-flash`.',
  })
  id!: string;

  @Field({ description: "The provider's own name for it: `llama3.1`." })
  name!: string;

  @Field({ description: 'The configured provider serving it, as in the id: `ollama`.' })
  providerName!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  displayName!: string;

  @Field()
  description!: string;

  @Field(() => Int, { nullable: true, description: 'Input tokens it reads, where the provider says.' })
  contextWindow!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Tokens it writes in one reply, where the provider says.',
  })
  outputTokenLimit!: number | null;

  @Field(() => [ModelCapability])
  @ListSizeDirective({ assumedSize: Object.keys(CAPABILITIES).length })
  capabilities!: ModelCapability[];

  @Field({
    description:
      'False while its provider does not answer (the last list it gave is shown); sending to it fails.',
  })
  available!: boolean;

  @Field({ description: 'Used when a message names no model.' })
  isDefault!: boolean;
}
