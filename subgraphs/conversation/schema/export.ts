import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { ExportFormat } from '../services/export';

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
