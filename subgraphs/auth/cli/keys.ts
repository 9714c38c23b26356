import { SigningKeyRepository } from '../repositories/signing-key.repository';
import 'reflect-metadata';
import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from '../../../common/identity/access-token';
import { type AuthConfig, loadAuthConfig } from '../config';
import type { SigningKeyRecord } from '../records/signing-key.record';
import { databaseKeyStore } from '../configured-key-store';
import { activeKey, generateKeyPairJwk, publishedKeys } from '../services/signing-keys';
import { runCli, UsageError, withAuthDatabase } from './auth-database';

const USAGE = [
  'usage: npm run keys -- rotate              add a key; it signs after JWT_KEY_ACTIVATION_DELAY_SECONDS',
  '       npm run keys -- list                the keys in PostgreSQL and what each is doing',
  `       npm run keys -- generate [${ACCESS_TOKEN_ALGORITHMS.join('|')}]  print a private JWK for JWT_PRIVATE_JWK`,
].join('\n');

const isAlgorithm = (value: string): value is AccessTokenAlgorithm =>
  (ACCESS_TOKEN_ALGORITHMS as readonly string[]).includes(value);

/** One line per key: id, algorithm, activation, and what it is doing now. */
function describeKeys(keys: SigningKeyRecord[], accessTokenTtlSeconds: number, now = new Date()): string[] {
  const signing = activeKey(keys, now);
  const published = new Set(publishedKeys(keys, now, accessTokenTtlSeconds).map((key) => key.kid));
  const stateOf = (key: SigningKeyRecord) => {
    if (key === signing) return 'signing';
    if (key.activatesAt > now) return 'published, signs later';
    return published.has(key.kid) ? 'published until its tokens expire' : 'retired';
  };
  return keys.map(
    (key) => `${key.kid}  ${key.algorithm}  activates ${key.activatesAt.toISOString()}  ${stateOf(key)}`,
  );
}

/** `npm run keys -- …`: access-token signing keys. Rotation logs nobody out (docs/auth.md). */
export async function runKeysCommand(
  args: string[],
  config: AuthConfig,
  print: (line: string) => void,
): Promise<void> {
  const [command, ...rest] = args;
  if (command === 'generate' && rest.length <= 1) {
    const algorithm = rest[0] ?? config.JWT_ALGORITHM;
    if (!isAlgorithm(algorithm)) throw new UsageError(USAGE);
    print(JSON.stringify((await generateKeyPairJwk(algorithm)).privateJwk));
    return;
  }
  if (rest.length > 0 || (command !== 'rotate' && command !== 'list')) throw new UsageError(USAGE);
  if (config.JWT_PRIVATE_JWK) {
    throw new Error(
      'The signing key comes from JWT_PRIVATE_JWK: rotate by setting a new one and moving the old public key to JWT_PREVIOUS_PUBLIC_JWKS',
    );
  }
  const lines = await withAuthDatabase(config, async (em) => {
    const store = databaseKeyStore(config, new SigningKeyRepository(em));
    if (command === 'list') return describeKeys(await store.list(), config.ACCESS_TOKEN_TTL_SECONDS);
    const key = await store.rotate();
    return [`added key ${key.kid} (${key.algorithm}); it signs from ${key.activatesAt.toISOString()}`];
  });
  lines.forEach((line) => print(line));
}

if (require.main === module) {
  runCli((args) => runKeysCommand(args, loadAuthConfig(), (line) => process.stdout.write(`${line}\n`)));
}
