import { ConversationEntity } from './conversation.entity';
import { MessageEntity } from './message.entity';
import { SearchOutboxEntity } from './search-outbox.entity';

/** Every table of the subgraph, as MikroORM maps it. */
export const conversationEntities = [ConversationEntity, MessageEntity, SearchOutboxEntity];
