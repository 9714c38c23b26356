import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../../common/graphql/federation';
import { ConversationResolver, conversationReference } from '../resolvers/conversation.resolver';
import { InternalResolver } from '../resolvers/internal.resolver';
import { MemoryResolver, UserMemoryResolver } from '../resolvers/memory.resolver';
import { MessageResolver, messageReference } from '../resolvers/message.resolver';
import { PreferenceResolver, UserInstructionsResolver } from '../resolvers/preference.resolver';
import { SearchResolver } from '../resolvers/search.resolver';
import { UserConversationsResolver, userReference } from '../resolvers/user.resolver';
import { User } from './references';

export const buildConversationSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    {
      resolvers: [
        ConversationResolver,
        MessageResolver,
        SearchResolver,
        InternalResolver,
        UserConversationsResolver,
        PreferenceResolver,
        UserInstructionsResolver,
        MemoryResolver,
        UserMemoryResolver,
      ],
      orphanedTypes: [User],
    },
    { User: userReference, Conversation: conversationReference, Message: messageReference },
    // Message text, and queries made of it (recall searches with the user's message).
    [
      'AppendMessageInput.content',
      'AppendTurnInput.content',
      'UpdateMessageInput.content',
      'Query.searchMessages(query:)',
      'Query.recallMessages(query:)',
      // Free text a user writes for the model, line breaks and all.
      'ConversationSettingsInput.systemPrompt',
      'InstructionsInput.aboutMe',
      'InstructionsInput.howToAnswer',
      'Mutation.remember(text:)',
    ],
  );
