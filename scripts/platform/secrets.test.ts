import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keptSecret } from './secrets';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kept-secret-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

test('generates a secret once, keeps it in an owner-only file and directory, and returns it afterwards', async () => {
  const file = join(dir, 'data', 'secrets', 'identity-secret');
  const secret = await keptSecret(file);
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  expect(await modeOf(file)).toBe(0o600);
  expect(await modeOf(join(dir, 'data', 'secrets'))).toBe(0o700);
  expect(await readFile(file, 'utf8')).toBe(`${secret}\n`);
  expect(await keptSecret(file)).toBe(secret);
});

test('gives two starts at once the same secret', async () => {
  const file = join(dir, 'racing', 'secret');
  const [a, b] = await Promise.all([keptSecret(file), keptSecret(file)]);
  expect(a).toBe(b);
});

test('narrows a secret an older start left readable to others, and keeps its value', async () => {
  const secrets = join(dir, 'wide');
  await mkdir(secrets, { mode: 0o755 });
  await chmod(secrets, 0o755);
  const file = join(secrets, 'secret');
  await writeFile(file, 'kept-from-before\n', { mode: 0o644 });
  await chmod(file, 0o644);
  expect(await keptSecret(file)).toBe('kept-from-before');
  expect(await modeOf(file)).toBe(0o600);
  expect(await modeOf(secrets)).toBe(0o700);
});

test('moves a secret from where an older version kept it', async () => {
  const former = join(dir, 'identity-secret');
  await writeFile(former, 'the-old-identity-secret\n', { mode: 0o600 });
  const file = join(dir, 'moved', 'identity-secret');
  expect(await keptSecret(file, { formerFile: former })).toBe('the-old-identity-secret');
  await expect(stat(former)).rejects.toThrow('ENOENT');
  expect(await modeOf(file)).toBe(0o600);
});
