import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * IDENTITY_SECRET from the environment, else the one kept in `file`, else a new random one written
 * there (readable by its owner only), so identities the gateway signed stay valid across restarts.
 */
export async function identitySecret(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.IDENTITY_SECRET) return env.IDENTITY_SECRET;
  const kept = await readFile(file, 'utf8').then(
    (content) => content.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  if (kept) return kept;
  const secret = randomBytes(32).toString('hex');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
