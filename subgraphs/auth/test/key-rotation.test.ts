import { SigningKeyRepository } from '../repositories/signing-key.repository';
import { loadJose } from '../../../common/util/jose';
import { bearer, registerUser } from '../../../common/testing/auth';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { withAuthDatabase } from '../cli/auth-database';
import { runKeysCommand } from '../cli/keys';
import { loadAuthConfig } from '../config';
import { SigningKeyEntity } from '../store/entities/signing-key.entity';
import { createKeyStore } from '../configured-key-store';

const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}`;
const REFRESH = 'mutation($token: String!) { refreshToken(token: $token) { accessToken } }';
const ME = '{ me { id } }';

const kidOf = async (token: string) => (await loadJose()).decodeProtectedHeader(token).kid as string;

describe('signing key rotation', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    // A rotated key signs at once here, and the gateway refetches at once, so no test waits.
    platform = await startTestPlatform('auth-keys', {
      env: { JWT_KEY_ACTIVATION_DELAY_SECONDS: '0', JWKS_COOLDOWN_MS: '0' },
    });
  });
  afterAll(() => platform?.stop());

  const authConfig = (env: Record<string, string> = {}) => loadAuthConfig({ ...platform.env, ...env });
  const keys = async (args: string[], env: Record<string, string> = {}) => {
    const lines: string[] = [];
    await runKeysCommand(args, authConfig(env), (line) => lines.push(line));
    return lines;
  };
  const publishedKids = async () => {
    const response = await fetch(new URL('/.well-known/jwks.json', platform.subgraphs.auth.url));
    expect(response.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
    const body = (await response.json()) as { keys: { kid: string; d?: string; use: string }[] };
    for (const key of body.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key.use).toBe('sig');
    }
    return body.keys.map((key) => key.kid);
  };
  const login = async (email: string, password: string) =>
    (await postGraphQL<{ login: { accessToken: string } }>(platform.gatewayUrl, LOGIN, { email, password }))
      .data!.login.accessToken;
  const me = (accessToken: string) => postGraphQL(platform.gatewayUrl, ME, {}, bearer(accessToken));

  it('generates a key on first start and publishes it at /.well-known/jwks.json', async () => {
    const user = await registerUser(platform);
    expect(await publishedKids()).toEqual([await kidOf(user.accessToken)]);
  });

  it('logs nobody out: tokens of the previous key keep working while new ones use the new key', async () => {
    const user = await registerUser(platform);
    const oldKid = await kidOf(user.accessToken);
    expect((await me(user.accessToken)).errors).toBeUndefined();

    const [added] = await keys(['rotate']);
    expect(added).toMatch(/^added key \S+ \(EdDSA\); it signs from /);

    const fresh = await login(user.email, user.password);
    const newKid = await kidOf(fresh);
    expect(newKid).not.toBe(oldKid);
    expect((await me(fresh)).errors).toBeUndefined();
    expect((await me(user.accessToken)).errors).toBeUndefined();
    expect(await publishedKids()).toEqual(expect.arrayContaining([oldKid, newKid]));

    const refreshed = await postGraphQL<{ refreshToken: { accessToken: string } }>(
      platform.gatewayUrl,
      REFRESH,
      {
        token: user.refreshToken,
      },
    );
    expect(await kidOf(refreshed.data!.refreshToken.accessToken)).toBe(newKid);
    expect((await me(refreshed.data!.refreshToken.accessToken)).errors).toBeUndefined();
  });

  it('publishes a rotated-in key before it signs anything, when rotation has an activation delay', async () => {
    const user = await registerUser(platform);
    const signing = await kidOf(user.accessToken);
    const [added] = await keys(['rotate'], { JWT_KEY_ACTIVATION_DELAY_SECONDS: '3600' });
    const pending = /^added key (\S+)/.exec(added)![1];
    expect(await publishedKids()).toEqual(expect.arrayContaining([signing, pending]));
    expect(await kidOf(await login(user.email, user.password))).toBe(signing);
    const listing = await keys(['list']);
    expect(listing.find((line) => line.startsWith(pending))).toMatch(/published, signs later$/);
    expect(listing.find((line) => line.startsWith(signing))).toMatch(/signing$/);
  });

  it('prints a private JWK for JWT_PRIVATE_JWK that auth accepts', async () => {
    const [jwk] = await keys(['generate', 'ES256']);
    expect(JSON.parse(jwk)).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', d: expect.any(String) });
    expect(authConfig({ JWT_PRIVATE_JWK: jwk }).JWT_PRIVATE_JWK).toMatchObject({ kty: 'EC' });
    await expect(keys(['rotate'], { JWT_PRIVATE_JWK: jwk })).rejects.toThrow(/JWT_PRIVATE_JWK/);
    await expect(keys(['spin'])).rejects.toThrow(/usage:/);
  });

  it('refuses a token signed by a key it has never published', async () => {
    const { SignJWT, generateKeyPair } = await loadJose();
    const { privateKey } = await generateKeyPair('EdDSA');
    const user = await registerUser(platform);
    const foreign = await new SignJWT({ sid: '00000000-0000-4000-8000-000000000000', role: 'ADMIN' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-published-key', typ: 'at+jwt' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(errorCodes(await me(foreign))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('signing keys encrypted at rest', () => {
  const ENCRYPTION_KEY = 'a1'.repeat(32);
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-sealed-keys', {
      env: { SIGNING_KEY_ENCRYPTION_KEY: ENCRYPTION_KEY },
    });
  });
  afterAll(() => platform?.stop());

  const config = (env: Record<string, string | undefined>) =>
    loadAuthConfig({ ...platform.env, ...env } as NodeJS.ProcessEnv);
  const storedPrivateKeys = () =>
    withAuthDatabase(config({}), async (em) =>
      (await em.fork().find(SigningKeyEntity, {})).map(
        (key) => key.privateJwk as unknown as Record<string, unknown>,
      ),
    );

  it('keeps only ciphertext of the private key in PostgreSQL, and signs tokens the gateway accepts', async () => {
    const user = await registerUser(platform);
    expect((await postGraphQL(platform.gatewayUrl, ME, {}, bearer(user.accessToken))).errors).toBeUndefined();
    const [stored] = await storedPrivateKeys();
    expect(stored).toMatchObject({ sealed: 'A256GCM', ciphertext: expect.any(String) });
    expect(stored).not.toHaveProperty('d');
    expect(JSON.stringify(stored)).not.toContain('"kty"');
  });

  it('will not start with another encryption key, or none, naming the reason', async () => {
    const start = (env: Record<string, string | undefined>) =>
      withAuthDatabase(config(env), (em) => createKeyStore(config(env), new SigningKeyRepository(em)));
    await expect(start({ SIGNING_KEY_ENCRYPTION_KEY: 'b2'.repeat(32) })).rejects.toThrow(
      /does not open with SIGNING_KEY_ENCRYPTION_KEY/,
    );
    await expect(start({ SIGNING_KEY_ENCRYPTION_KEY: undefined })).rejects.toThrow(
      /is encrypted: set SIGNING_KEY_ENCRYPTION_KEY/,
    );
    await expect(start({})).resolves.toMatchObject({ kind: 'database' });
  });
});

describe('signing keys stored before SIGNING_KEY_ENCRYPTION_KEY was set', () => {
  const ENCRYPTION_KEY = 'c3'.repeat(32);
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-unsealed-keys');
  });
  afterAll(() => platform?.stop());

  const config = (env: Record<string, string | undefined>) =>
    loadAuthConfig({ ...platform.env, ...env } as NodeJS.ProcessEnv);
  const storedKeys = () =>
    withAuthDatabase(config({}), async (em) =>
      (await em.fork().find(SigningKeyEntity, {})).map((key) => ({
        kid: key.kid,
        privateJwk: key.privateJwk as unknown as Record<string, unknown>,
      })),
    );

  it('are sealed in place at the first start with one, and keep signing under their key ids', async () => {
    const user = await registerUser(platform);
    const [before] = await storedKeys();
    expect(before.privateJwk).toHaveProperty('d');

    const sealed = config({ SIGNING_KEY_ENCRYPTION_KEY: ENCRYPTION_KEY });
    const signingKid = await withAuthDatabase(
      sealed,
      async (em) =>
        (await (await createKeyStore(sealed, new SigningKeyRepository(em))).store.signingKey()).kid,
    );
    const after = await storedKeys();
    expect(after).toEqual([{ kid: before.kid, privateJwk: expect.objectContaining({ sealed: 'A256GCM' }) }]);
    expect(JSON.stringify(after)).not.toContain(before.privateJwk.d as string);
    // The token issued before still verifies: the key is the same, only stored encrypted.
    expect(await kidOf(user.accessToken)).toBe(before.kid);
    expect(signingKid).toBe(before.kid);

    // Rotating without the encryption key would store the new key in the clear: refused.
    await expect(runKeysCommand(['rotate'], config({}), () => undefined)).rejects.toThrow(
      /set SIGNING_KEY_ENCRYPTION_KEY/,
    );
  });
});
