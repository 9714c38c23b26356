import { ConnectionType } from '../../../common/graphql/pagination';
import { Conversation } from './conversation';
import { Message } from './message';

export const ConversationConnection = ConnectionType('Conversation', Conversation);
export const MessageConnection = ConnectionType('Message', Message);
