import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../common/graphql/federation';
import { ConversationResolver } from './resolvers/conversation.resolver';
import { InternalResolver } from './resolvers/internal.resolver';
import { MessageResolver } from './resolvers/message.resolver';
import { referenceResolvers } from './resolvers/references';
import { SearchResolver } from './resolvers/search.resolver';
import { UserConversationsResolver } from './resolvers/user.resolver';
import { User } from './schema/user';

export const buildConversationSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    {
      resolvers: [
        ConversationResolver,
        MessageResolver,
        SearchResolver,
        InternalResolver,
        UserConversationsResolver,
      ],
      orphanedTypes: [User],
    },
    referenceResolvers,
    // Message text, and queries made of it (recall searches with the user's message).
    [
      'AppendMessageInput.content',
      'UpdateMessageInput.content',
      'Query.searchMessages(query:)',
      'Query.recallMessages(query:)',
    ],
  );
