import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const OWNER_ONLY_DIR = 0o700;
const OWNER_ONLY_FILE = 0o600;

/** Narrows a file or directory to its owner if anyone else may read it (kept from an older start). */
async function ownerOnly(path: string, mode: number): Promise<void> {
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, mode);
}

const readIfThere = (file: string) =>
  readFile(file, 'utf8').then(
    (content) => content.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );

/** Creates a directory only its owner may enter, or narrows one an older start left wider. */
export async function ownerOnlyDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  await ownerOnly(dir, OWNER_ONLY_DIR);
}

export interface KeptSecretOptions {
  /** Where an older version kept this secret: moved into `file` if `file` is not there yet. */
  formerFile?: string;
}

/**
 * A secret `npm start` generated once and keeps for the next starts: read from `file`, else made
 * (32 random bytes in hex) and written there. The file is readable by its owner only (0600), in a
 * directory only its owner may enter (0700); both are narrowed if an older start left them wider.
 */
export async function keptSecret(file: string, { formerFile }: KeptSecretOptions = {}): Promise<string> {
  await ownerOnlyDirectory(dirname(file));
  let kept = await readIfThere(file);
  if (!kept && formerFile && (await readIfThere(formerFile))) {
    await rename(formerFile, file);
    kept = await readIfThere(file);
  }
  if (kept) {
    await ownerOnly(file, OWNER_ONLY_FILE);
    return kept;
  }
  const secret = randomBytes(32).toString('hex');
  // 'wx': two starts at once cannot each write their own; the loser reads the winner's.
  await writeFile(file, `${secret}\n`, { mode: OWNER_ONLY_FILE, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  return readIfThere(file);
}
