import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../common/federation';
import { AccountResolver } from './resolvers/account.resolver';
import { AuthPayloadResolver } from './resolvers/auth-payload.resolver';
import { SessionResolver } from './resolvers/session.resolver';
import { UserResolver, userReferenceResolver } from './resolvers/user.resolver';

export const buildAuthSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    { resolvers: [UserResolver, AccountResolver, SessionResolver, AuthPayloadResolver] },
    userReferenceResolver,
  );
