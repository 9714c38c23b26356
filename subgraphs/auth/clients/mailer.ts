import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Logger } from '../../../common/logging/logger';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  smtpUrl: string | undefined;
  from: string;
  /** Without SMTP: a directory (owner-only) that receives each mail as a file, or none (mails are dropped). */
  dropDir: string | undefined;
}

/**
 * Mail over SMTP (SMTP_URL); without it, each mail as a file in MAIL_DROP_DIR (what `npm start`
 * sets, so resets and verifications can be tried with no mail server), or nowhere. A mail carries
 * a single-use token, so it never goes to the log: only that one was sent, dropped or filed.
 */
export function createMailer({ smtpUrl, from, dropDir }: MailerOptions, logger: Logger): Mailer {
  if (smtpUrl) {
    const transport = createTransport(smtpUrl);
    return {
      send: async (mail) => void (await transport.sendMail({ from, ...mail })),
      close: () => transport.close(),
    };
  }
  if (!dropDir) {
    logger.warn('SMTP_URL is not set: mails (password resets, email verifications) cannot be sent');
    return {
      send: async ({ subject }) => void logger.warn({ subject }, 'mail not sent: SMTP_URL is not set'),
      close: () => undefined,
    };
  }
  logger.info({ dropDir }, 'SMTP_URL is not set: mails are written as files to MAIL_DROP_DIR');
  return {
    send: async (mail) => {
      await mkdir(dropDir, { recursive: true, mode: 0o700 });
      await chmod(dropDir, 0o700);
      const file = join(dropDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
      const message = `From: ${from}\nTo: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n`;
      await writeFile(file, message, { mode: 0o600 });
      logger.info(
        { subject: mail.subject, file },
        'mail written to MAIL_DROP_DIR (not sent: SMTP_URL is not set)',
      );
    },
    close: () => undefined,
  };
}
