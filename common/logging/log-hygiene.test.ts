import { DriverException } from '@mikro-orm/core';
import { captureLogs } from '../testing/logger';
import { scrubSecrets, serializeError } from './log-hygiene';

const HASH = '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const JWT =
  'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiI4ZDFlNmYzYSIsInNpZCI6InMxIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl';

/** What pg throws for a duplicate email, as MikroORM wraps it: the statement with its values. */
function duplicateEmail(): Error {
  const pgError = Object.assign(
    new Error(
      `insert into "user" ("email", "password_hash") values ('ada@example.com', '${HASH}') - duplicate key value violates unique constraint "user_email_unique"`,
    ),
    {
      severity: 'ERROR',
      code: '23505',
      detail: 'Key (email)=(ada@example.com) already exists.',
      constraint: 'user_email_unique',
      table: 'user',
      routine: '_bt_check_unique',
    },
  );
  return new DriverException(pgError);
}

describe('log hygiene', () => {
  it('logs a database error by its SQLSTATE and names, never its statement, values or detail', () => {
    const { logger, lines } = captureLogs();
    logger.error({ err: duplicateEmail() }, 'unexpected error');
    const [line] = lines();
    expect(JSON.parse(line).err).toMatchObject({
      type: 'DriverException',
      code: '23505',
      message: 'database error',
      constraint: 'user_email_unique',
      table: 'user',
    });
    expect(line).not.toContain('ada@example.com');
    expect(line).not.toContain('$argon2');
    expect(line).not.toContain('insert into');
  });

  it('logs other errors by type, code, message and stack, without their other properties', () => {
    const redisError = Object.assign(new Error('READONLY You can not write against a read only replica.'), {
      command: { name: 'set', args: ['revoked-session:s1', JWT] },
    });
    const record = serializeError(redisError) as Record<string, unknown>;
    expect(record).toMatchObject({
      type: 'Error',
      message: 'READONLY You can not write against a read only replica.',
    });
    expect(JSON.stringify(record)).not.toContain(JWT);
  });

  it('scrubs secrets with a known shape from messages, causes and logged strings', () => {
    const error = new Error(`login failed for Bearer ${JWT}`, { cause: new Error(`hash ${HASH}`) });
    const text = JSON.stringify(serializeError(error));
    expect(text).not.toContain(JWT);
    expect(text).not.toContain(HASH);
    expect(serializeError(`token ${JWT}`)).toBe('token [token]');
  });

  it('keeps ordinary messages readable', () => {
    for (const message of ['could not update the title', 'failed with code 1', 'select a model first']) {
      expect(scrubSecrets(message)).toBe(message);
    }
  });

  it('replaces identity headers, PEM keys and PostgreSQL detail values', () => {
    expect(scrubSecrets('header v2.eyJzdWIiOm51bGx9.bWFjbWFjbWFj')).toBe('header [identity]');
    expect(scrubSecrets('-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----')).toBe('[key]');
    expect(scrubSecrets('Key (email)=(ada@example.com) already exists.')).toBe(
      'Key [redacted] already exists.',
    );
  });
});
