import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../common/federation';
import { ModelResolver } from './resolvers/model.resolver';
import { Generation } from './schema/generation';

export const buildChatSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    { resolvers: [ModelResolver], orphanedTypes: [Generation] },
    { Generation: { __resolveReference: () => null } },
  );
