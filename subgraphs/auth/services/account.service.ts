import { badUserInput, unauthenticated } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import type { UserRepository } from '../repositories/user.repository';
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
    private readonly users: UserRepository,
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
  async register(caller: Caller, input: RegisterInput): Promise<SessionTokens> {
    const email = checkEmail(input.email, 'email');
    const displayName = checkDisplayName(input.displayName, 'displayName');
    checkNewPassword(input.password, 'password');
    await this.throttle.assertAddressAllowed(caller.clientAddress);
    if (await this.users.emailTaken(email)) throw await this.alreadyRegistered(caller);
    const user = await this.users.insert({
      email,
      displayName,
      passwordHash: await this.passwords.hash(input.password),
    });
    // Null: two registrations of one email at once, and the unique index gave it to the other.
    if (!user) throw await this.alreadyRegistered(caller);
    const tokens = await this.sessions.open(caller, user);
    this.verification.sendAfterRegistration(user);
    return tokens;
  }

  private async alreadyRegistered(caller: Caller) {
    await this.throttle.addressFailed(caller.clientAddress);
    return badUserInput('email', 'An account with this email already exists');
  }

  async login(caller: Caller, input: LoginInput): Promise<SessionTokens> {
    const email = normalizeEmail(input.email);
    await this.throttle.attempt(email, caller.clientAddress);
    const credentials = await this.users.credentialsByEmail(email);
    const verified = await this.passwords.verify(credentials?.passwordHash ?? null, input.password);
    if (!credentials || !verified) throw invalidCredentials();
    await this.throttle.succeeded(email, caller.clientAddress);
    if (this.passwords.needsRehash(credentials.passwordHash)) {
      await this.users.setPasswordHash(credentials.user.id, await this.passwords.hash(input.password));
    }
    return this.sessions.open(caller, credentials.user);
  }

  /**
   * Needs the current password (throttled like a login); signs out every other device. The other
   * sessions are revoked first: if that fails, nothing has changed and the user can try again.
   */
  async changePassword(caller: Caller, currentPassword: string, newPassword: string): Promise<void> {
    const credentials = await this.users.credentialsById(requireUser(caller).userId);
    if (!credentials) throw unauthenticated();
    const { user } = credentials;
    await this.throttle.attempt(user.email, caller.clientAddress);
    if (!(await this.passwords.verify(credentials.passwordHash, currentPassword))) {
      throw badUserInput('currentPassword', 'The current password is not correct');
    }
    await this.throttle.succeeded(user.email, caller.clientAddress);
    checkNewPassword(newPassword, 'newPassword');
    if (newPassword === currentPassword) {
      throw badUserInput('newPassword', 'The new password must differ from the current one');
    }
    const passwordHash = await this.passwords.hash(newPassword);
    await this.sessions.revokeAllOf(user.id, caller.sessionId);
    await this.users.setPasswordHash(user.id, passwordHash);
  }
}
