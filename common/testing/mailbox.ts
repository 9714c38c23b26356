import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  subject: string;
  /** The message with headers, as delivered. */
  raw: string;
  /** The plain-text body, transfer encoding undone. */
  text: string;
}

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  url: string;
  /**
   * The oldest mail not yet taken that `matches` (any mail by default), or the next to arrive;
   * mails that do not match stay for later calls.
   */
  next: (matches?: (mail: ReceivedMail) => boolean) => Promise<ReceivedMail>;
  stop: () => Promise<void>;
}

const decodeQuotedPrintable = (body: string) =>
  body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));

function parse(raw: string, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const quoted = /^content-transfer-encoding:\s*quoted-printable/im.test(headers);
  const subject = /^subject:\s*(.*)$/im.exec(headers)?.[1].trim() ?? '';
  return { to, subject, raw, text: quoted ? decodeQuotedPrintable(body) : body };
}

/** A real SMTP server on a free port that keeps what it receives, for tests of mail flows. */
export async function startMailbox(): Promise<Mailbox> {
  const arrived: ReceivedMail[] = [];
  const waiting: { matches: (mail: ReceivedMail) => boolean; take: (mail: ReceivedMail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mail = parse(
          Buffer.concat(chunks).toString('utf8'),
          session.envelope.rcptTo.map((recipient) => recipient.address),
        );
        const waiter = waiting.findIndex(({ matches }) => matches(mail));
        if (waiter >= 0) waiting.splice(waiter, 1)[0].take(mail);
        else arrived.push(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    next: (matches = () => true) => {
      const index = arrived.findIndex(matches);
      if (index >= 0) return Promise.resolve(arrived.splice(index, 1)[0]);
      return new Promise((take) => waiting.push({ matches, take }));
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
