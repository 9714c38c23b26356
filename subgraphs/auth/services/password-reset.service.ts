import { badUserInput } from '../../../common/errors/errors';
import type { Logger } from '../../../common/logging/logger';
import type { Mail, Mailer } from '../clients/mailer';
import type { UserRecord } from '../records/user.record';
import type { PasswordResetRepository } from '../repositories/password-reset.repository';
import type { UserRepository } from '../repositories/user.repository';
import { normalizeEmail } from './account-input';
import type { AdminEmails } from './admin-emails';
import type { BackgroundTasks } from './background-tasks';
import { hashOpaqueToken, newOpaqueToken } from './opaque-token';
import type { PasswordHasher } from './password-hasher';
import { checkNewPassword } from './password-policy';
import type { SessionService } from './session.service';
import type { MailThrottle } from './throttles';

export interface PasswordResetOptions {
  tokenTtlSeconds: number;
  /** The client page that takes the token; the mail links to `<url>#token=<token>`. */
  resetUrl: string;
}

const invalidResetToken = () => badUserInput('token', 'This reset link is invalid, used or expired');

/** "Forgot password": a single-use token mailed to the account's address. */
export class PasswordResetService {
  constructor(
    private readonly tokens: PasswordResetRepository,
    private readonly users: UserRepository,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly adminEmails: AdminEmails,
    private readonly mailer: Mailer,
    private readonly throttle: MailThrottle,
    private readonly background: BackgroundTasks,
    private readonly options: PasswordResetOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Mails a reset token when the account exists. The caller learns nothing either way: the answer
   * is the same, and the mail is sent after it. A new token replaces any earlier one.
   */
  async request(email: string): Promise<void> {
    const user = await this.users.findByEmail(normalizeEmail(email));
    if (!user) return;
    if (!(await this.throttle.allow(user.email)).allowed) {
      this.logger.warn({ userId: user.id }, 'password reset mail not sent: hourly limit reached');
      return;
    }
    const token = newOpaqueToken();
    await this.tokens.issue({
      tokenHash: hashOpaqueToken(token),
      userId: user.id,
      expiresAt: new Date(Date.now() + this.options.tokenTtlSeconds * 1000),
    });
    const mail = this.resetMail(user, token);
    this.background.run('password reset mail', () => this.mailer.send(mail));
  }

  /**
   * Consumes the token, sets the password, and signs the account out everywhere. Sessions are
   * revoked before the token is spent, so a failure there leaves the link usable for a retry.
   * It verifies the address too: whoever set this password reads its mail, and whoever
   * registered the address before them (and knew the old password) is signed out for good.
   */
  async reset(token: string, newPassword: string): Promise<void> {
    checkNewPassword(newPassword, 'newPassword');
    const tokenHash = hashOpaqueToken(token);
    const userId = await this.tokens.userOfUsable(tokenHash);
    if (!userId) throw invalidResetToken();
    const passwordHash = await this.passwords.hash(newPassword);
    await this.sessions.revokeAllOf(userId);
    const consumed = await this.tokens.consume(tokenHash, userId, passwordHash, this.adminEmails.emails);
    if (!consumed) throw invalidResetToken();
    if (consumed.promoted) {
      this.logger.info({ userId }, 'ADMIN_EMAILS promoted an account verified by a reset');
    }
  }

  /** Deletes tokens that can no longer be used. */
  deleteDead(): Promise<number> {
    return this.tokens.deleteDead();
  }

  private resetMail(user: UserRecord, token: string): Mail {
    const minutes = Math.round(this.options.tokenTtlSeconds / 60);
    // The token travels in the fragment, which browsers never send to a server or in a Referer.
    const link = `${this.options.resetUrl}#token=${token}`;
    return {
      to: user.email,
      subject: 'Reset your password',
      text: [
        `Hello ${user.displayName},`,
        '',
        `Someone asked to reset the password of your account. To choose a new one, open this link within ${minutes} minutes:`,
        '',
        link,
        '',
        'If it was not you, ignore this mail: your password stays as it is.',
      ].join('\n'),
    };
  }
}
