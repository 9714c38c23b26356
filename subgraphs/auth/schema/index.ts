import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../../common/graphql/federation';
import { AccountResolver } from '../resolvers/account.resolver';
import { AuthPayloadResolver } from '../resolvers/auth-payload.resolver';
import { SessionResolver } from '../resolvers/session.resolver';
import { UserResolver, userReferenceResolver } from '../resolvers/user.resolver';

export const buildAuthSchema = (): Promise<GraphQLSchema> =>
  buildFederatedSchema(
    { resolvers: [UserResolver, AccountResolver, SessionResolver, AuthPayloadResolver] },
    userReferenceResolver,
    // Passwords were never refused for tabs or line breaks; refusing them now would lock someone out.
    [
      'RegisterInput.password',
      'LoginInput.password',
      'Mutation.changePassword(currentPassword:)',
      'Mutation.changePassword(newPassword:)',
      'Mutation.resetPassword(newPassword:)',
    ],
  );
