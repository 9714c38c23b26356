import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { callerId } from '../../../common/identity/authorization';
import { badUserInput, unauthenticated } from '../../../common/errors/errors';
import type { Identity } from '../../../common/identity/identity';
import { UserEntity } from '../store/entities/user.entity';
import { checkDisplayName, checkEmail, normalizeEmail } from './account-input';
import type { EmailVerificationService } from './email-verification.service';
import type { PasswordHasher } from './password-hasher';
import { checkNewPassword } from './password-policy';
import type { SessionService, SessionTokens } from './session.service';
import type { LoginThrottle } from './throttles';

export interface RegisterInput {
  email: string;
  password: string;
  displayName: string;
}

export interface LoginInput {
  email: string;
  password: string;
}

/** One answer for an unknown email and a wrong password, so neither reveals which it was. */
const invalidCredentials = () => unauthenticated('Invalid email or password');

/** Accounts and their passwords: register, login, change password. */
export class AccountService {
  constructor(
    private readonly em: EntityManager,
    private readonly passwords: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly sessions: SessionService,
    private readonly verification: EmailVerificationService,
  ) {}

  /**
   * Creates a USER account (never any other role), unverified, signs it in and mails a verification
   * link. It says when the email is taken (instant sign-in cannot be faked for an existing account),
   * but each such answer counts as a failed sign-in of the caller's address, and an address over that
   * limit is refused every registration, so probing for accounts costs what guessing passwords does.
   */
  async register(input: RegisterInput, caller: Identity): Promise<SessionTokens> {
    const email = checkEmail(input.email, 'email');
    const displayName = checkDisplayName(input.displayName, 'displayName');
    checkNewPassword(input.password, 'password');
    await this.throttle.assertAddressAllowed(caller.clientAddress);
    const em = this.em.fork();
    if (await em.count(UserEntity, { email })) throw await this.alreadyRegistered(caller);
    const user = Object.assign(new UserEntity(), {
      email,
      displayName,
      passwordHash: await this.passwords.hash(input.password),
    });
    try {
      await em.persistAndFlush(user);
    } catch (error) {
      // Two registrations of one email at once: the unique index decides.
      if (error instanceof UniqueConstraintViolationException) throw await this.alreadyRegistered(caller);
      throw error;
    }
    const tokens = await this.sessions.open(user, caller);
    this.verification.sendAfterRegistration(user);
    return tokens;
  }

  private async alreadyRegistered(caller: Identity) {
    await this.throttle.addressFailed(caller.clientAddress);
    return badUserInput('email', 'An account with this email already exists');
  }

  async login(input: LoginInput, caller: Identity): Promise<SessionTokens> {
    const email = normalizeEmail(input.email);
    await this.throttle.attempt(email, caller.clientAddress);
    const em = this.em.fork();
    const user = await em.findOne(UserEntity, { email });
    const verified = await this.passwords.verify(user?.passwordHash ?? null, input.password);
    if (!user || !verified) throw invalidCredentials();
    await this.throttle.succeeded(email, caller.clientAddress);
    if (this.passwords.needsRehash(user.passwordHash)) {
      user.passwordHash = await this.passwords.hash(input.password);
      await em.flush();
    }
    return this.sessions.open(user, caller);
  }

  /**
   * Needs the current password (throttled like a login); signs out every other device. The other
   * sessions are revoked first: if that fails, nothing has changed and the user can try again.
   */
  async changePassword(caller: Identity, currentPassword: string, newPassword: string): Promise<void> {
    const em = this.em.fork();
    const user = await em.findOne(UserEntity, { id: callerId(caller) });
    if (!user) throw unauthenticated();
    await this.throttle.attempt(user.email, caller.clientAddress);
    if (!(await this.passwords.verify(user.passwordHash, currentPassword))) {
      throw badUserInput('currentPassword', 'The current password is not correct');
    }
    await this.throttle.succeeded(user.email, caller.clientAddress);
    checkNewPassword(newPassword, 'newPassword');
    if (newPassword === currentPassword) {
      throw badUserInput('newPassword', 'The new password must differ from the current one');
    }
    const passwordHash = await this.passwords.hash(newPassword);
    await this.sessions.revokeAllOf(user.id, caller.sessionId);
    user.passwordHash = passwordHash;
    await em.flush();
  }
}
