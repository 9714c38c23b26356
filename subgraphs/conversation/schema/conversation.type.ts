import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../../common/graphql/pagination';
import { ExportFormat } from '../services/export-conversation';

@ObjectType({
  description: "How replies in a conversation are generated; a null field means the deployment's default.",
})
export class ConversationSettings {
  @Field(() => String, { nullable: true, description: 'A model id as `models` lists it.' })
  model!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The conversation's own system prompt; an empty string means none at all.",
  })
  systemPrompt!: string | null;

  @Field(() => Float, { nullable: true, description: 'From 0 to 2.' })
  temperature!: number | null;

  @Field(() => Float, { nullable: true, description: 'Nucleus sampling, from 0 to 1.' })
  topP!: number | null;

  @Field(() => Int, { nullable: true, description: "At most the model's output limit." })
  maxOutputTokens!: number | null;

  @Field({ description: "Whether replies may draw on the owner's other conversations." })
  recallEnabled!: boolean;

  @Field({ description: 'Whether your custom instructions go into its prompts.' })
  instructionsEnabled!: boolean;
}

@ObjectType({ description: 'A chat thread owned by one user.' })
@Directive('@key(fields: "id")')
export class Conversation {
  @Field(() => ID)
  id!: string;

  // Shareable: chat provides it where it just stored a message (SendMessagePayload).
  @Field()
  @Directive('@shareable')
  title!: string;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  @Field({ description: 'When a message was last added; conversations are listed by it, newest first.' })
  lastActivityAt!: Date;

  @Field(() => ConversationSettings)
  settings!: ConversationSettings;
}

export const ConversationConnection = ConnectionType('Conversation', Conversation);

registerEnumType(ExportFormat, {
  name: 'ExportFormat',
  valuesConfig: {
    JSON: { description: 'Every message of every branch, as a tree (parentId), with the active leaf.' },
    MARKDOWN: { description: 'A readable transcript of the active branch.' },
  },
});

@ObjectType({ description: 'A conversation as a file to download.' })
export class ConversationExport {
  @Field(() => ExportFormat)
  format!: ExportFormat;

  @Field({ description: 'A suggested file name, from the title.' })
  fileName!: string;

  @Field()
  mimeType!: string;

  @Field()
  content!: string;
}
