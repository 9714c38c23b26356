import { ConversationEntity } from './conversation.entity';
import { MemoryEntity } from './memory.entity';
import { MessageEntity } from './message.entity';
import { PresetEntity } from './preset.entity';
import { SearchOutboxEntity } from './search-outbox.entity';
import { UserInstructionsEntity } from './user-instructions.entity';
import { UserRecallEntity } from './user-recall.entity';

/** Every table of the subgraph, as MikroORM maps it. */
export const conversationEntities = [
  ConversationEntity,
  MessageEntity,
  SearchOutboxEntity,
  UserInstructionsEntity,
  PresetEntity,
  MemoryEntity,
  UserRecallEntity,
];
