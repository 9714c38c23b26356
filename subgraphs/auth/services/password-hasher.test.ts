import argon2 from 'argon2';
import { PasswordHasher } from './password-hasher';

const cheap = { memoryKib: 1024, iterations: 1 };

describe('PasswordHasher', () => {
  let hasher: PasswordHasher;

  beforeAll(async () => {
    hasher = await PasswordHasher.create(cheap);
  });
  afterEach(() => jest.restoreAllMocks());

  it('hashes with argon2id and verifies the right password only', async () => {
    const hash = await hasher.hash('a long and unusual passphrase');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(hash, 'a long and unusual passphrase')).toBe(true);
    expect(await hasher.verify(hash, 'another passphrase')).toBe(false);
  });

  it('does a full verification even when there is no account, and then says no', async () => {
    const verify = jest.spyOn(argon2, 'verify');
    expect(await hasher.verify(null, 'any password at all')).toBe(false);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0][0]).toMatch(/^\$argon2id\$v=19\$m=1024,p=\d+,t=1\$/);
  });

  it('asks for a rehash of hashes made with other parameters', async () => {
    const old = await argon2.hash('a long and unusual passphrase', {
      type: argon2.argon2id,
      memoryCost: 2048,
      timeCost: 1,
    });
    expect(hasher.needsRehash(old)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('a long and unusual passphrase'))).toBe(false);
  });
});
