import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A signed-in session's tokens, as register, login and refreshToken return them. */
export interface Tokens {
  accessToken: string;
  /** ISO 8601; the client refreshes a little before it. */
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

/** Where a client keeps its tokens between calls (and, for a file, between runs). */
export interface TokenStore {
  load(): Promise<Tokens | undefined>;
  /** `undefined` forgets them (signed out). */
  save(tokens: Tokens | undefined): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  constructor(private tokens?: Tokens) {}

  async load(): Promise<Tokens | undefined> {
    return this.tokens;
  }

  async save(tokens: Tokens | undefined): Promise<void> {
    this.tokens = tokens;
  }
}

const isTokens = (value: unknown): value is Tokens =>
  typeof value === 'object' &&
  value !== null &&
  ['accessToken', 'accessTokenExpiresAt', 'refreshToken', 'refreshTokenExpiresAt'].every(
    (key) => typeof (value as Record<string, unknown>)[key] === 'string',
  );

/** Owner read/write only: the refresh token signs in for 30 days. */
const TOKEN_FILE_MODE = 0o600;

/**
 * Tokens in a JSON file readable by its owner alone. It is written whole to a temporary file
 * with mode 0600 and renamed into place, so a crash never leaves half a file and the tokens
 * are never readable by others, even for a moment. An unreadable or foreign file reads as none.
 */
export class FileTokenStore implements TokenStore {
  constructor(readonly path: string) {}

  async load(): Promise<Tokens | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return isTokens(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  async save(tokens: Tokens | undefined): Promise<void> {
    if (!tokens) {
      await rm(this.path, { force: true });
      return;
    }
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(tokens, null, 2)}\n`, { mode: TOKEN_FILE_MODE });
    // The mode above only applies to a new file; a leftover temporary keeps its own.
    await chmod(temporary, TOKEN_FILE_MODE);
    await rename(temporary, this.path);
  }
}
