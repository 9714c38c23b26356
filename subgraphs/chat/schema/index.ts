import type { GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema } from '../../../common/graphql/federation';
import { ChatResolver } from '../resolvers/chat.resolver';
import { ConversationGenerationResolver, MessageGenerationResolver } from '../resolvers/generation.resolver';
import { referenceResolvers } from '../resolvers/references.resolver';
import { UserUsageResolver } from '../resolvers/usage.resolver';
import { ModelResolver } from '../resolvers/model.resolver';
import { SubscriptionResolver } from '../resolvers/subscription.resolver';
import { User } from './references';

/**
 * type-graphql insists on a PubSub once there are subscriptions, even when every subscription
 * brings its own `subscribe` (ours read Redis Streams); this one says so if anything reaches it.
 */
const NO_PUB_SUB: PubSub = {
  publish: () => {
    throw new Error('chat subscriptions read Redis Streams; nothing publishes through a PubSub');
  },
  subscribe: () => {
    throw new Error('chat subscriptions read Redis Streams; nothing subscribes through a PubSub');
  },
};

export const buildChatSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    {
      resolvers: [
        ModelResolver,
        ChatResolver,
        SubscriptionResolver,
        MessageGenerationResolver,
        ConversationGenerationResolver,
        UserUsageResolver,
      ],
      // User appears in no chat field's type, only as the owner of `usage`.
      orphanedTypes: [User],
      pubSub: NO_PUB_SUB,
    },
    referenceResolvers,
    // What the user writes to the model; everything else (ids, model names) is one line.
    ['SendMessageInput.content', 'Mutation.editMessage(content:)'],
  );
