import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore, type Tokens } from './token-store';

const TOKENS: Tokens = {
  accessToken: 'access',
  accessTokenExpiresAt: '2030-01-01T00:00:00.000Z',
  refreshToken: 'refresh',
  refreshTokenExpiresAt: '2030-02-01T00:00:00.000Z',
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('keeps the tokens in a file that only its owner can read or write, and reads them back', async () => {
  const store = new FileTokenStore(join(dir, 'nested', 'tokens.json'));

  await store.save(TOKENS);

  expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  expect(await new FileTokenStore(store.path).load()).toEqual(TOKENS);
});

test('tightens the mode of a token file that others could read', async () => {
  const store = new FileTokenStore(join(dir, 'tokens.json'));
  await writeFile(store.path, '{}', { mode: 0o644 });

  await store.save(TOKENS);

  expect((await stat(store.path)).mode & 0o777).toBe(0o600);
});

test('forgetting the tokens deletes the file', async () => {
  const store = new FileTokenStore(join(dir, 'tokens.json'));
  await store.save(TOKENS);

  await store.save(undefined);

  await expect(readFile(store.path)).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await store.load()).toBeUndefined();
});

test('a missing, corrupt or foreign file reads as signed out', async () => {
  const store = new FileTokenStore(join(dir, 'tokens.json'));
  expect(await store.load()).toBeUndefined();

  await writeFile(store.path, 'not json');
  expect(await store.load()).toBeUndefined();

  await writeFile(store.path, JSON.stringify({ accessToken: 'only this' }));
  expect(await store.load()).toBeUndefined();
});
