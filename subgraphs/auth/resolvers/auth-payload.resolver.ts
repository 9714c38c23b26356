import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { AuthContext } from '../context';
import type { UserRecord } from '../records/user.record';
import { AuthPayload } from '../schema/auth-payload.type';
import { User } from '../schema/user.type';

@Resolver(() => AuthPayload)
export class AuthPayloadResolver {
  /** The account the payload's tokens are for: its holder may read it, though still anonymous here. */
  @FieldResolver(() => User)
  user(@Root() payload: { user: UserRecord }, @Ctx() { signedIn }: AuthContext): UserRecord {
    signedIn.add(payload.user);
    return payload.user;
  }
}
