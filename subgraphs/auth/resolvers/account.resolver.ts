import { Arg, Ctx, Directive, Mutation, Resolver } from 'type-graphql';
import type { AuthContext } from '../context';
import { AuthPayload } from '../schema/auth-payload';
import { LoginInput, RegisterInput } from '../schema/inputs';

@Resolver()
export class AccountResolver {
  @Mutation(() => AuthPayload, { description: 'Creates an account (role USER) and signs it in.' })
  register(
    @Arg('input', () => RegisterInput) input: RegisterInput,
    @Ctx() { identity, services }: AuthContext,
  ): Promise<AuthPayload> {
    return services.accounts.register(input, identity);
  }

  @Mutation(() => AuthPayload, { description: 'Signs in on a new session; other sessions stay.' })
  login(
    @Arg('input', () => LoginInput) input: LoginInput,
    @Ctx() { identity, services }: AuthContext,
  ): Promise<AuthPayload> {
    return services.accounts.login(input, identity);
  }

  @Mutation(() => Boolean, { description: 'Signs out every other session.' })
  @Directive('@authenticated')
  async changePassword(
    @Arg('currentPassword') currentPassword: string,
    @Arg('newPassword') newPassword: string,
    @Ctx() { identity, services }: AuthContext,
  ): Promise<boolean> {
    await services.accounts.changePassword(identity, currentPassword, newPassword);
    return true;
  }

  @Mutation(() => Boolean, {
    description: 'Mails a reset link if the account exists. Always true, so it reveals no account.',
  })
  async requestPasswordReset(
    @Arg('email') email: string,
    @Ctx() { services }: AuthContext,
  ): Promise<boolean> {
    await services.passwordResets.request(email);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Sets a new password with a mailed token; signs out everywhere.' })
  async resetPassword(
    @Arg('token') token: string,
    @Arg('newPassword') newPassword: string,
    @Ctx() { services }: AuthContext,
  ): Promise<boolean> {
    await services.passwordResets.reset(token, newPassword);
    return true;
  }
}
