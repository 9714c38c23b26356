import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { AuthContext } from '../context';
import { AuthPayload } from '../schema/auth-payload.type';
import { Session } from '../schema/session.type';
import { MAX_SESSIONS_LISTED } from '../services/session.service';

@Resolver(() => Session)
export class SessionResolver {
  @Query(() => [Session], {
    description: `Your signed-in devices, most recently used first (the ${MAX_SESSIONS_LISTED} most recent).`,
  })
  @Directive('@authenticated')
  @ListSizeDirective({ assumedSize: MAX_SESSIONS_LISTED })
  sessions(@Ctx() { caller, services }: AuthContext): Promise<Session[]> {
    return services.sessions.list(caller);
  }

  @Mutation(() => AuthPayload, {
    description: 'New tokens for a refresh token, which is then spent. Reusing a spent one ends its session.',
  })
  refreshToken(@Arg('token') token: string, @Ctx() { services }: AuthContext): Promise<AuthPayload> {
    return services.sessions.refresh(token);
  }

  @Mutation(() => Boolean, {
    description: 'Ends one of your sessions; its access tokens stop working at once.',
  })
  @Directive('@authenticated')
  async revokeSession(
    @Arg('id', () => ID) id: string,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<boolean> {
    await services.sessions.revoke(caller, id);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Ends the current session.' })
  @Directive('@authenticated')
  async logout(@Ctx() { caller, services }: AuthContext): Promise<boolean> {
    await services.sessions.logout(caller);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Ends every one of your sessions, this one included.' })
  @Directive('@authenticated')
  async logoutAll(@Ctx() { caller, services }: AuthContext): Promise<boolean> {
    await services.sessions.logoutAll(caller);
    return true;
  }
}
