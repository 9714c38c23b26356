import { loadJose } from '../../../common/util/jose';
import {
  activeKey,
  generateKeyPairJwk,
  keyPairFromPrivateJwk,
  publishedKeys,
  StaticKeyStore,
} from './signing-keys';

const MINUTE = 60_000;
const TTL_SECONDS = 15 * 60;
const at = (minutes: number) => new Date(Date.UTC(2030, 0, 1) + minutes * MINUTE);
const key = (kid: string, activatesAtMinute: number) => ({ kid, activatesAt: at(activatesAtMinute) });

describe('the signing key timeline', () => {
  const first = key('first', 0);
  const second = key('second', 60);

  it('signs with the newest key whose activation has come', () => {
    expect(activeKey([first, second], at(59))).toBe(first);
    expect(activeKey([second, first], at(60))).toBe(second);
    expect(activeKey([second], at(59))).toBeUndefined();
  });

  it('publishes a key before it activates, so verifiers know it before they meet its tokens', () => {
    expect(publishedKeys([first, second], at(10), TTL_SECONDS).map((k) => k.kid)).toEqual([
      'first',
      'second',
    ]);
  });

  it('keeps publishing the previous key until every token it signed has expired', () => {
    const stillNeeded = publishedKeys([first, second], at(60 + 15), TTL_SECONDS);
    expect(stillNeeded.map((k) => k.kid)).toEqual(['first', 'second']);
    const afterMargin = publishedKeys([first, second], at(60 + 15 + 2), TTL_SECONDS);
    expect(afterMargin.map((k) => k.kid)).toEqual(['second']);
  });
});

describe('key pairs', () => {
  it('names a key by its RFC 7638 thumbprint and publishes only its public half', async () => {
    const pair = await generateKeyPairJwk('EdDSA');
    const { calculateJwkThumbprint } = await loadJose();
    const { kid: _kid, alg: _alg, use: _use, ...members } = pair.publicJwk;
    expect(pair.kid).toBe(await calculateJwkThumbprint(members));
    expect(pair.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      kid: pair.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  });

  it('keeps the kid a given key already has', async () => {
    const { privateJwk } = await generateKeyPairJwk('ES256');
    expect((await keyPairFromPrivateJwk({ ...privateJwk, kid: 'ops-2030-01' })).kid).toBe('ops-2030-01');
  });

  it('refuses a key of an algorithm access tokens do not use', async () => {
    await expect(keyPairFromPrivateJwk({ kty: 'RSA', n: 'x', e: 'AQAB', d: 'x' })).rejects.toThrow(
      /unsupported signing key/,
    );
  });

  it('publishes an environment key together with the previous public keys it was given', async () => {
    const current = await generateKeyPairJwk('ES256');
    const previous = await generateKeyPairJwk('EdDSA');
    const store = await StaticKeyStore.create(current.privateJwk, [previous.publicJwk]);
    expect((await store.publicKeys()).map((jwk) => jwk.kid)).toEqual([current.kid, previous.kid]);
    expect((await store.signingKey()).kid).toBe(current.kid);
  });
});
