import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../common/federation';
import { UserResolver, userReferenceResolver } from './resolvers/user.resolver';

export const buildAuthSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema({ resolvers: [UserResolver] }, userReferenceResolver);
