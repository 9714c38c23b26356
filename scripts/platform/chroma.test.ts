import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkChroma, provideChroma } from './chroma';
import { findFreePort } from './ports';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chroma-platform-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('starts a Chroma server whose heartbeat answers, with its data in the given directory, and stops it', async () => {
  const port = await findFreePort();
  const chroma = await provideChroma({
    dataDir: join(dir, 'chroma'),
    env: { EMBEDDED_CHROMA_PORT: String(port) },
  });
  try {
    expect(chroma.url).toBe(`http://127.0.0.1:${port}`);
    const response = await fetch(`${chroma.url}/api/v2/heartbeat`);
    expect(response.status).toBe(200);
    expect(await response.json()).toHaveProperty(['nanosecond heartbeat']);
    expect(existsSync(join(dir, 'chroma', 'chroma.sqlite3'))).toBe(true);
  } finally {
    await chroma.stop();
  }
  await expect(checkChroma(chroma.url)).rejects.toThrow();
});

test('with CHROMA_URL set, checks that server and leaves it running', async () => {
  const url = process.env.CHROMA_URL as string;
  const chroma = await provideChroma({ dataDir: join(dir, 'unused'), env: { CHROMA_URL: url } });
  expect(chroma.url).toBe(url);
  await chroma.stop();
  await expect(checkChroma(url)).resolves.toBeUndefined();
});

test('a CHROMA_URL that does not answer fails, naming CHROMA_URL', async () => {
  const url = `http://127.0.0.1:${await findFreePort()}`;
  await expect(provideChroma({ dataDir: join(dir, 'unused'), env: { CHROMA_URL: url } })).rejects.toThrow(
    `Chroma at CHROMA_URL (${url}) does not answer`,
  );
});
