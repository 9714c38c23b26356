import { loadJose } from '../../common/util/jose';
import { silentLogger } from '../../common/testing/logger';
import { generateKeyPairJwk, type KeyPair } from '../../subgraphs/auth/services/signing-keys';
import { JwksCache, KeySetUnavailableError } from './jwks-cache';

const COOLDOWN = 5_000;
const MAX_AGE = 300_000;

/** A key set served by a fake auth whose answers and clock the test controls. */
function fakeAuth() {
  const state = { keys: [] as KeyPair[], reachable: true, fetches: 0, now: 1_000_000 };
  const cache = new JwksCache({
    fetchKeySet: async () => {
      state.fetches++;
      if (!state.reachable) throw new Error('connect ECONNREFUSED');
      return { keys: state.keys.map((key) => key.publicJwk) };
    },
    maxAgeMs: MAX_AGE,
    cooldownMs: COOLDOWN,
    logger: silentLogger(),
    now: () => state.now,
  });
  return { state, cache };
}

async function tokenSignedBy(key: KeyPair) {
  const { SignJWT, importJWK } = await loadJose();
  return new SignJWT({})
    .setProtectedHeader({ alg: key.algorithm, kid: key.kid })
    .sign(await importJWK(key.privateJwk, key.algorithm));
}

async function verifies(cache: JwksCache, key: KeyPair) {
  const { jwtVerify } = await loadJose();
  await jwtVerify(await tokenSignedBy(key), cache.getKey);
}

describe('JwksCache', () => {
  let first: KeyPair;
  let second: KeyPair;

  beforeAll(async () => {
    [first, second] = await Promise.all([generateKeyPairJwk('EdDSA'), generateKeyPairJwk('ES256')]);
  });

  it('fetches once and then verifies from memory', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first];
    await verifies(cache, first);
    await verifies(cache, first);
    expect(state.fetches).toBe(1);
  });

  it('shares one fetch among concurrent verifications', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first];
    await Promise.all([verifies(cache, first), verifies(cache, first), verifies(cache, first)]);
    expect(state.fetches).toBe(1);
  });

  it('refetches at once for a key id it does not know (a rotation), once the cooldown has passed', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first];
    await verifies(cache, first);
    state.keys = [first, second];
    state.now += COOLDOWN;
    await verifies(cache, second);
    expect(state.fetches).toBe(2);
  });

  it('does not let unknown key ids make it fetch more often than the cooldown allows', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first];
    await verifies(cache, first);
    state.keys = [first, second];
    state.now += COOLDOWN - 1;
    await expect(verifies(cache, second)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.fetches).toBe(1);
  });

  it('fails with KeySetUnavailableError when it holds no keys and auth cannot be reached', async () => {
    const { state, cache } = fakeAuth();
    state.reachable = false;
    await expect(verifies(cache, first)).rejects.toBeInstanceOf(KeySetUnavailableError);
    state.reachable = true;
    state.keys = [first];
    await expect(verifies(cache, first)).rejects.toBeInstanceOf(KeySetUnavailableError);
    state.now += COOLDOWN;
    await verifies(cache, first);
  });

  it('keeps verifying with the keys it holds when a refresh of an old set fails', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first];
    await verifies(cache, first);
    state.reachable = false;
    state.now += MAX_AGE;
    await verifies(cache, first);
    expect(state.fetches).toBe(2);
  });

  it('refreshes an old set in the background, dropping keys auth no longer publishes', async () => {
    const { state, cache } = fakeAuth();
    state.keys = [first, second];
    await verifies(cache, first);
    state.keys = [second];
    state.now += MAX_AGE;
    await verifies(cache, first);
    await verifies(cache, second);
    expect(state.fetches).toBe(2);
    state.now += COOLDOWN - 1;
    await expect(verifies(cache, first)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});
