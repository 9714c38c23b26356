import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identitySecret } from './identity-secret';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-secret-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('generates a secret once, keeps it in an owner-only file, and returns the same one afterwards', async () => {
  const file = join(dir, 'data', 'identity-secret');
  const secret = await identitySecret(file, {});
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect(await readFile(file, 'utf8')).toBe(`${secret}\n`);
  expect(await identitySecret(file, {})).toBe(secret);
});

test('IDENTITY_SECRET from the environment wins, and no file is written', async () => {
  const file = join(dir, 'unused');
  expect(await identitySecret(file, { IDENTITY_SECRET: 'from-the-environment' })).toBe(
    'from-the-environment',
  );
  await expect(stat(file)).rejects.toThrow('ENOENT');
});
