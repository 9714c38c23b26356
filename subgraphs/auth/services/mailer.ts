import { createTransport } from 'nodemailer';
import type { Logger } from '../../../common/logger';

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
  /** Without SMTP, development writes mails to the log; production only says one was not sent. */
  production: boolean;
}

/** Mail over SMTP (SMTP_URL), or, without it, to the log, so `npm start` works with no mail server. */
export function createMailer({ smtpUrl, from, production }: MailerOptions, logger: Logger): Mailer {
  if (smtpUrl) {
    const transport = createTransport(smtpUrl);
    return {
      send: async (mail) => void (await transport.sendMail({ from, ...mail })),
      close: () => transport.close(),
    };
  }
  if (production) {
    logger.warn('SMTP_URL is not set: mails (password resets, email verifications) cannot be sent');
    return {
      send: async ({ subject }) => void logger.warn({ subject }, 'mail not sent: SMTP_URL is not set'),
      close: () => undefined,
    };
  }
  logger.info('SMTP_URL is not set: mails are written to this log instead of being sent');
  return {
    send: async (mail) => void logger.info({ mail }, 'mail (not sent: SMTP_URL is not set)'),
    close: () => undefined,
  };
}
