import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../../common/graphql/pagination';
import { ExportFormat } from '../services/export-conversation';

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
