import { once } from 'node:events';
import WebSocket from 'ws';
import {
  IDENTITY_CLOCK_SKEW_MS,
  IDENTITY_HEADER,
  IDENTITY_LIFETIME_MS,
  operationDigest,
  signIdentity,
} from '../../common/identity/identity';
import { loadJose } from '../../common/util/jose';
import { bearer, registerUser, type TestUser } from '../../common/testing/auth';
import { TEST_IDENTITY_SECRET } from '../../common/testing/env';
import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { silentLogger } from '../../common/testing/logger';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { findFreePort } from '../../common/util/free-port';
import { AccessTokenIssuer } from '../../subgraphs/auth/services/access-token-issuer';
import { generateKeyPairJwk, StaticKeyStore } from '../../subgraphs/auth/services/signing-keys';
import { startGateway } from '../app';
import { loadGatewayConfig } from '../config';
import { GatewayCloseCode } from '../transports/websocket';

const ISSUER = 'urn:llm-chat:auth';
const AUDIENCE = 'urn:llm-chat:api';
const ME = '{ me { id } }';

describe('authentication at the gateway', () => {
  let platform: TestPlatform;
  let privateJwk: string;

  beforeAll(async () => {
    // Auth signs with a key the test also holds, so the test can mint tokens of every kind.
    privateJwk = JSON.stringify((await generateKeyPairJwk('ES256')).privateJwk);
    platform = await startTestPlatform('gateway-auth', { env: { JWT_PRIVATE_JWK: privateJwk } });
  });
  afterAll(() => platform?.stop());

  const me = (headers: Record<string, string>) => postGraphQL(platform.gatewayUrl, ME, {}, headers);
  const sessionIdOf = async (user: TestUser) => (await loadJose()).decodeJwt(user.accessToken).sid as string;
  const mint = async (user: TestUser, options: { issuer?: string; audience?: string; now?: number } = {}) => {
    const issuer = new AccessTokenIssuer(await StaticKeyStore.create(JSON.parse(privateJwk)), {
      issuer: options.issuer ?? ISSUER,
      audience: options.audience ?? AUDIENCE,
      ttlSeconds: 900,
      now: options.now === undefined ? undefined : () => options.now as number,
    });
    return (await issuer.issue({ userId: user.id, sessionId: await sessionIdOf(user), role: 'USER' })).token;
  };
  const expectRefused = async (token: string) => {
    const response = await me(bearer(token));
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  };

  it('accepts a token signed with auth’s published key', async () => {
    const user = await registerUser(platform);
    expect((await me(bearer(await mint(user)))).data).toEqual({ me: { id: user.id } });
  });

  it('refuses an expired token', async () => {
    const user = await registerUser(platform);
    await expectRefused(await mint(user, { now: Date.now() - 16 * 60_000 }));
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const user = await registerUser(platform);
    const [header, payload, signature] = user.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url');
    await expectRefused(`${header}.${forged}.${signature}`);
  });

  it('refuses a token signed with another key under auth’s key id', async () => {
    const user = await registerUser(platform);
    const { SignJWT, importJWK, decodeProtectedHeader, decodeJwt } = await loadJose();
    const impostor = await generateKeyPairJwk('ES256');
    const forged = await new SignJWT(decodeJwt(user.accessToken))
      .setProtectedHeader(decodeProtectedHeader(user.accessToken) as { alg: string })
      .sign(await importJWK(impostor.privateJwk, 'ES256'));
    await expectRefused(forged);
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const user = await registerUser(platform);
    await expectRefused(await mint(user, { audience: 'urn:some-other:api' }));
    await expectRefused(await mint(user, { issuer: 'urn:some-other:auth' }));
  });

  it('refuses an unsigned token (alg: none) and one MACed with a shared secret', async () => {
    const user = await registerUser(platform);
    const { UnsecuredJWT, SignJWT, decodeJwt } = await loadJose();
    const claims = decodeJwt(user.accessToken);
    await expectRefused(new UnsecuredJWT(claims).encode());
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
    await expectRefused(hmac);
  });

  it('refuses a revoked session’s token at once, though the token itself is valid', async () => {
    const user = await registerUser(platform);
    const minted = await mint(user);
    await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, user.headers);
    await expectRefused(minted);
  });

  describe('when it cannot verify', () => {
    const unreachableUrl = async (scheme: string) => `${scheme}://127.0.0.1:${await findFreePort()}`;
    const startGatewayWith = async (env: Record<string, string>) =>
      startGateway(
        loadGatewayConfig({
          ...platform.env,
          REDIS_KEY_PREFIX: `${platform.namespace}:gateway-2:`,
          AUTH_URL: platform.subgraphs.auth.url,
          CONVERSATION_URL: platform.subgraphs.conversation.url,
          CHAT_URL: platform.subgraphs.chat.url,
          ...env,
        }),
        silentLogger(),
      );
    const expectUnavailableButAnonymousServed = async (env: Record<string, string>) => {
      const user = await registerUser(platform);
      const gateway = await startGatewayWith(env);
      try {
        const authenticated = await postGraphQL(gateway.url, ME, {}, user.headers);
        expect(authenticated.status).toBe(503);
        expect(errorCodes(authenticated)).toEqual(['UPSTREAM_UNAVAILABLE']);
        expect(authenticated.data ?? null).toBeNull();
        const login = await postGraphQL(
          gateway.url,
          'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { user { id } } }',
          { e: user.email, p: user.password },
        );
        expect(login.data).toEqual({ login: { user: { id: user.id } } });
        // Over WebSocket: "try again later", not 4403, which would tell a client its token is bad.
        const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
        socket.on('open', () =>
          socket.send(
            JSON.stringify({
              type: 'connection_init',
              payload: { authorization: user.headers.authorization },
            }),
          ),
        );
        const [code] = (await once(socket, 'close')) as [number];
        expect(code).toBe(GatewayCloseCode.TryAgainLater);
      } finally {
        await gateway.stop();
      }
    };

    it('fails a request with a token when the JWKS is unreachable and none is cached (never anonymous)', async () => {
      await expectUnavailableButAnonymousServed({ JWKS_URL: `${await unreachableUrl('http')}/jwks.json` });
    });

    it('fails a request with a token when Redis (the revocation list) is unreachable (never fails open)', async () => {
      await expectUnavailableButAnonymousServed({ REDIS_URL: await unreachableUrl('redis') });
    });
  });

  describe.each(['auth', 'conversation', 'chat'] as const)('the %s subgraph, called directly', (name) => {
    const direct = (headers: Record<string, string>) =>
      postGraphQL(platform.subgraphs[name].url, '{ __typename }', {}, headers);
    const forgedIdentity = async (secret: string, signedAt = Date.now()) => {
      const user = await registerUser(platform);
      const identity = {
        userId: user.id,
        role: 'ADMIN',
        sessionId: await sessionIdOf(user),
        requestId: 'forged',
        issuer: 'gateway',
      } as const;
      const binding = { audience: name, digest: operationDigest({ query: '{ __typename }', variables: {} }) };
      return signIdentity(identity, secret, binding, signedAt);
    };

    it('refuses a made-up x-user-id header', async () => {
      const user = await registerUser(platform);
      const response = await direct({ 'x-user-id': user.id, 'x-user-role': 'ADMIN' });
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    });

    it('refuses an access token without the gateway’s signed identity', async () => {
      const user = await registerUser(platform);
      const response = await direct(user.headers);
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    });

    it('refuses an identity signed with any other secret', async () => {
      const response = await direct({
        [IDENTITY_HEADER]: await forgedIdentity('a-guessed-secret-that-is-long-enough'),
      });
      expect(response.status).toBe(401);
    });

    it('refuses an identity header once past its lifetime', async () => {
      const stale = await forgedIdentity(
        TEST_IDENTITY_SECRET,
        Date.now() - IDENTITY_LIFETIME_MS - IDENTITY_CLOCK_SKEW_MS - 1000,
      );
      expect((await direct({ [IDENTITY_HEADER]: stale })).status).toBe(401);
    });
  });
});
