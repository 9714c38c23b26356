import { ConnectionType } from '../../../common/pagination';
import { Conversation } from './conversation';

export const ConversationConnection = ConnectionType('Conversation', Conversation);
