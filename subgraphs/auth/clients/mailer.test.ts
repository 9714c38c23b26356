import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogs } from '../../../common/testing/logger';
import { createMailer } from './mailer';

describe('the mailer without SMTP', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mail-drop-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const mail = {
    to: 'ada@example.test',
    subject: 'Verify your email',
    text: 'http://x/verify#token=SECRET-TOKEN',
  };

  it('files each mail in MAIL_DROP_DIR, owner-only, and logs only that it did', async () => {
    const drop = join(dir, 'mail');
    const logs = captureLogs();
    await createMailer(
      { smtpUrl: undefined, from: 'LLM Chat <no-reply@localhost>', dropDir: drop },
      logs.logger,
    ).send(mail);
    const [file] = await readdir(drop);
    expect(await readFile(join(drop, file), 'utf8')).toContain('SECRET-TOKEN');
    expect((await stat(join(drop, file))).mode & 0o777).toBe(0o600);
    expect((await stat(drop)).mode & 0o777).toBe(0o700);
    expect(logs.lines().join('\n')).not.toContain('SECRET-TOKEN');
  });

  it('drops the mail with a warning when there is nowhere to put it, never logging its text', async () => {
    const logs = captureLogs();
    await createMailer({ smtpUrl: undefined, from: 'LLM Chat <x@y>', dropDir: undefined }, logs.logger).send(
      mail,
    );
    expect(logs.lines().join('\n')).toContain('mail not sent');
    expect(logs.lines().join('\n')).not.toContain('SECRET-TOKEN');
  });
});
