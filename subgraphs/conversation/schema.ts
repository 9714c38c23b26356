import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../common/federation';
import { ConversationResolver, conversationReferenceResolver } from './resolvers/conversation.resolver';
import { UserConversationsResolver, userReferenceResolver } from './resolvers/user.resolver';
import { User } from './schema/user';

export const buildConversationSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    { resolvers: [ConversationResolver, UserConversationsResolver], orphanedTypes: [User] },
    { ...userReferenceResolver, ...conversationReferenceResolver },
  );
