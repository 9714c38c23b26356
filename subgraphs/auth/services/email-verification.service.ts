import type { EntityManager } from '@mikro-orm/postgresql';
import { callerId } from '../../../common/identity/authorization';
import { badUserInput, unauthenticated } from '../../../common/errors/errors';
import type { Identity } from '../../../common/identity/identity';
import type { Logger } from '../../../common/logging/logger';
import { EmailVerificationTokenEntity } from '../store/entities/email-verification-token.entity';
import { UserEntity } from '../store/entities/user.entity';
import type { AdminEmails } from './admin-emails';
import type { BackgroundTasks } from './background-tasks';
import type { Mail, Mailer } from '../clients/mailer';
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
    private readonly em: EntityManager,
    private readonly mailer: Mailer,
    private readonly throttle: MailThrottle,
    private readonly background: BackgroundTasks,
    private readonly adminEmails: AdminEmails,
    private readonly options: EmailVerificationOptions,
    private readonly logger: Logger,
  ) {}

  /** The first link, after registration; sent after the answer, like every mail. */
  sendAfterRegistration(user: UserEntity): void {
    this.background.run('verification mail', async () => {
      if (!(await this.throttle.allow(user.id)).allowed) return;
      await this.mailer.send(await this.issue(user));
    });
  }

  /** A new link to the caller's address (earlier ones stop working); false if it is verified already. */
  async resend(caller: Identity): Promise<boolean> {
    const user = await this.em.fork().findOne(UserEntity, { id: callerId(caller) });
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
  async verify(caller: Identity, token: string): Promise<UserEntity> {
    const userId = callerId(caller);
    const em = this.em.fork();
    const user = await em.findOne(UserEntity, { id: userId });
    if (!user) throw unauthenticated();
    const promoted = await em.transactional(async (tx) => {
      const spent = await tx.nativeUpdate(
        EmailVerificationTokenEntity,
        {
          tokenHash: hashOpaqueToken(token),
          userId,
          email: user.email,
          usedAt: null,
          expiresAt: { $gt: new Date() },
        },
        { usedAt: new Date() },
      );
      if (spent === 0) throw invalidVerificationToken();
      return this.confirmAddress(tx, userId);
    });
    if (promoted) this.logger.info({ userId }, 'ADMIN_EMAILS promoted a newly verified account');
    await em.refresh(user);
    return user;
  }

  /**
   * Marks the account's address verified, and applies ADMIN_EMAILS to it; true if that promoted it.
   * Also for a password reset, which proves the same: the one who set the password reads the mail.
   */
  async confirmAddress(em: EntityManager, userId: string): Promise<boolean> {
    await em.nativeUpdate(UserEntity, { id: userId, emailVerifiedAt: null }, { emailVerifiedAt: new Date() });
    return (await this.adminEmails.promote(em, userId)).length > 0;
  }

  /** Deletes tokens that can no longer be used. */
  deleteDead(): Promise<number> {
    return this.em.fork().nativeDelete(EmailVerificationTokenEntity, {
      $or: [{ expiresAt: { $lt: new Date() } }, { usedAt: { $ne: null } }],
    });
  }

  /** Stores a new token (its hash), retiring earlier ones, and makes the mail that carries it. */
  private async issue(user: UserEntity): Promise<Mail> {
    const token = newOpaqueToken();
    await this.em.fork().transactional(async (tx) => {
      await tx.nativeUpdate(
        EmailVerificationTokenEntity,
        { userId: user.id, usedAt: null },
        { usedAt: new Date() },
      );
      tx.persist(
        Object.assign(new EmailVerificationTokenEntity(), {
          tokenHash: hashOpaqueToken(token),
          userId: user.id,
          email: user.email,
          expiresAt: new Date(Date.now() + this.options.tokenTtlSeconds * 1000),
        }),
      );
    });
    return this.verificationMail(user, token);
  }

  private verificationMail(user: UserEntity, token: string): Mail {
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
