import { Arg, Ctx, Directive, Mutation, Resolver } from 'type-graphql';
import type { AuthContext } from '../context';
import { AuthPayload } from '../schema/auth-payload.type';
import { LoginInput, RegisterInput } from '../schema/account.input';
import { User } from '../schema/user.type';

@Resolver()
export class AccountResolver {
  @Mutation(() => AuthPayload, {
    description:
      'Creates an account (role USER, address unverified), signs it in, and mails a link to verify the address.',
  })
  register(
    @Arg('input', () => RegisterInput) input: RegisterInput,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<AuthPayload> {
    return services.accounts.register(caller, input);
  }

  @Mutation(() => AuthPayload, { description: 'Signs in on a new session; other sessions stay.' })
  login(
    @Arg('input', () => LoginInput) input: LoginInput,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<AuthPayload> {
    return services.accounts.login(caller, input);
  }

  @Mutation(() => Boolean, { description: 'Signs out every other session.' })
  @Directive('@authenticated')
  async changePassword(
    @Arg('currentPassword') currentPassword: string,
    @Arg('newPassword') newPassword: string,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<boolean> {
    await services.accounts.changePassword(caller, currentPassword, newPassword);
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

  @Mutation(() => User, {
    description:
      'Verifies your address with the token a verification mail linked to. Only the account it was sent for, signed in, can use it.',
  })
  @Directive('@authenticated')
  verifyEmail(@Arg('token') token: string, @Ctx() { caller, services }: AuthContext): Promise<User> {
    return services.verification.verify(caller, token);
  }

  @Mutation(() => Boolean, {
    description:
      'Mails a new verification link to your address (earlier links stop working); false if it is verified already. A few per hour.',
  })
  @Directive('@authenticated')
  resendVerification(@Ctx() { caller, services }: AuthContext): Promise<boolean> {
    return services.verification.resend(caller);
  }
}
