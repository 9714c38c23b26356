import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_IDENTITY_SECRET } from '../common/testing/env';

// The scanner is plain JavaScript: the summary reporter runs it outside Jest's transform.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { scanRunLogs } = require('./log-scan') as {
  scanRunLogs: (dir: string) => { file: string; line: number; what: string; excerpt: string }[];
};

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, service: 'auth', ...fields });

/** Each kind of secret the scan must find, as it would appear in a service's JSON log line. */
const SECRETS: Record<string, string> = {
  'a password hash': line({
    msg: 'user',
    user: { passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA' },
  }),
  'an access token (JWT)': line({
    msg: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI4ZDFlNmYzYSJ9.c2lnbmF0dXJlc2lnbmF0dXJl',
  }),
  'a signed identity header': line({
    headers: { 'x-identity': 'v2.eyJzdWIiOm51bGx9.tEYw2wqVvQRPubCerH9O0bVSZm5JMzuRIn' },
  }),
  'a refresh or reset token (43 base64url characters)': line({
    msg: 'refresh 3q2-7wQm9VfXk1aZ0bT4yLrN8sUeHcJdPiG6oKlMnBv',
  }),
  'a private key (PEM)': line({ msg: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI' }),
  'a private JWK member': line({
    key: { kty: 'OKP', crv: 'Ed25519', x: 'abc', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' },
  }),
  'the identity secret': line({ msg: `secret ${TEST_IDENTITY_SECRET}` }),
  'an SQL statement with values': line({
    err: { message: `insert into "user" ("email") values ('ada@example.com') - duplicate key` },
  }),
  'an SQL parameter list': line({ orm: 'query', params: ['ada@example.com'] }),
  'a value from a PostgreSQL error detail': line({ detail: 'Key (email)=(ada@example.com) already exists.' }),
};

const BENIGN = [
  line({ msg: 'gateway ready', url: 'http://127.0.0.1:4000/graphql' }),
  line({
    msg: 'unexpected error',
    err: { type: 'DriverException', code: '23505', message: 'database error' },
  }),
  line({ msg: 'keys rotated', kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }),
  line({ requestId: '17b1fa25-af44-45b8-bf72-32209dcb99e3', msg: 'request completed', durationMs: 12 }),
  line({ msg: 'could not update the title; select a model where one is missing' }),
];

describe('the end-of-run log scan', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'log-scan-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(Object.entries(SECRETS))('finds %s', async (what, text) => {
    await rm(join(dir, 'service.log'), { force: true });
    await writeFile(join(dir, 'service.log'), `${BENIGN[0]}\n${text}\n`);
    const findings = scanRunLogs(dir);
    expect(findings.map((finding) => finding.what)).toContain(what);
    expect(findings.every((finding) => finding.line === 2 && finding.file === 'service.log')).toBe(true);
  });

  it('passes ordinary log lines, key ids and masked database errors', async () => {
    await rm(join(dir, 'service.log'), { force: true });
    await writeFile(join(dir, 'service.log'), `${BENIGN.join('\n')}\n`);
    expect(scanRunLogs(dir)).toEqual([]);
  });

  it('never prints the secret it found, only what precedes it', async () => {
    await writeFile(join(dir, 'service.log'), `${SECRETS['a password hash']}\n`);
    const [finding] = scanRunLogs(dir);
    expect(finding.excerpt).not.toContain('$argon2');
  });
});
