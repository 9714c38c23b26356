import { badUserInput, unauthenticated } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import type { Logger } from '../../../common/logging/logger';
import type { Mail, Mailer } from '../clients/mailer';
import type { UserRecord } from '../records/user.record';
import type { EmailVerificationRepository } from '../repositories/email-verification.repository';
import type { UserRepository } from '../repositories/user.repository';
import type { AdminEmails } from './admin-emails';
import type { BackgroundTasks } from './background-tasks';
import { hashOpaqueToken, newOpaqueToken } from './opaque-token';
import { type MailThrottle, rateLimited } from './throttles';

export interface EmailVerificationOptions {
  tokenTtlSeconds: number;
  /** The client page that takes the token; the mail links to `<url>#token=<token>`. */
  verifyUrl: string;
}

const invalidVerificationToken = () =>
  badUserInput('token', 'This verification link is invalid, used or expired');

/**
 * Proof that an account's owner receives mail at its address: a single-use token mailed there.
 * It is spent only by the account it was issued for, signed in: someone who registered another
 * person's address cannot have them verify it by clicking a link they did not ask for, since
 * they would have to sign in as that account first.
 */
export class EmailVerificationService {
  constructor(
    private readonly tokens: EmailVerificationRepository,
    private readonly users: UserRepository,
    private readonly mailer: Mailer,
    private readonly throttle: MailThrottle,
    private readonly background: BackgroundTasks,
    private readonly adminEmails: AdminEmails,
    private readonly options: EmailVerificationOptions,
    private readonly logger: Logger,
  ) {}

  /** The first link, after registration; sent after the answer, like every mail. */
  sendAfterRegistration(user: UserRecord): void {
    this.background.run('verification mail', async () => {
      if (!(await this.throttle.allow(user.id)).allowed) return;
      await this.mailer.send(await this.issue(user));
    });
  }

  /** A new link to the caller's address (earlier ones stop working); false if it is verified already. */
  async resend(caller: Caller): Promise<boolean> {
    const user = await this.users.findById(requireUser(caller).userId);
    if (!user) throw unauthenticated();
    if (user.emailVerifiedAt) return false;
    const budget = await this.throttle.allow(user.id);
    if (!budget.allowed)
      throw rateLimited('Too many verification mails; try again later', budget.retryAfterMs);
    const mail = await this.issue(user);
    this.background.run('verification mail', () => this.mailer.send(mail));
    return true;
  }

  /**
   * Spends a token of the caller's own, for the address the account has now, and marks that
   * address verified. Anyone else's token, like a used or expired one, is BAD_USER_INPUT.
   */
  async verify(caller: Caller, token: string): Promise<UserRecord> {
    const { userId } = requireUser(caller);
    const user = await this.users.findById(userId);
    if (!user) throw unauthenticated();
    const spent = await this.tokens.spend(
      hashOpaqueToken(token),
      userId,
      user.email,
      this.adminEmails.emails,
    );
    if (!spent) throw invalidVerificationToken();
    if (spent.promoted) this.logger.info({ userId }, 'ADMIN_EMAILS promoted a newly verified account');
    return (await this.users.findById(userId)) ?? user;
  }

  /** Deletes tokens that can no longer be used. */
  deleteDead(): Promise<number> {
    return this.tokens.deleteDead();
  }

  /** Stores a new token (its hash), retiring earlier ones, and makes the mail that carries it. */
  private async issue(user: UserRecord): Promise<Mail> {
    const token = newOpaqueToken();
    await this.tokens.issue({
      tokenHash: hashOpaqueToken(token),
      userId: user.id,
      email: user.email,
      expiresAt: new Date(Date.now() + this.options.tokenTtlSeconds * 1000),
    });
    return this.verificationMail(user, token);
  }

  private verificationMail(user: UserRecord, token: string): Mail {
    const ttl = this.options.tokenTtlSeconds;
    const within = ttl >= 7200 ? `${Math.round(ttl / 3600)} hours` : `${Math.round(ttl / 60)} minutes`;
    // The token travels in the fragment, which browsers never send to a server or in a Referer.
    const link = `${this.options.verifyUrl}#token=${token}`;
    return {
      to: user.email,
      subject: 'Confirm your email address',
      text: [
        `Hello ${user.displayName},`,
        '',
        `To confirm that this address is yours, open this link within ${within}, signed in to your account:`,
        '',
        link,
        '',
        'If you did not create this account, someone else used your address. Do not open the link;',
        'to take the account over, ask for a password reset with this address.',
      ].join('\n'),
    };
  }
}
