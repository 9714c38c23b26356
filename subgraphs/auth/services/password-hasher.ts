import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';

export interface PasswordHashOptions {
  memoryKib: number;
  iterations: number;
}

/** argon2id hashing, and verification that costs the same whether or not the account exists. */
export class PasswordHasher {
  private constructor(
    private readonly options: PasswordHashOptions,
    /** Verified against when there is no account, so an unknown email takes as long as a known one. */
    private readonly dummyHash: string,
  ) {}

  static async create(options: PasswordHashOptions): Promise<PasswordHasher> {
    const dummyHash = await argon2.hash(randomBytes(32).toString('hex'), PasswordHasher.argon2(options));
    return new PasswordHasher(options, dummyHash);
  }

  private static argon2({ memoryKib, iterations }: PasswordHashOptions): argon2.HashOptions {
    return { type: argon2.argon2id, memoryCost: memoryKib, timeCost: iterations };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, PasswordHasher.argon2(this.options));
  }

  /** False for a null hash (no such account), after the same work as a real check. */
  async verify(hash: string | null, password: string): Promise<boolean> {
    const matches = await argon2.verify(hash ?? this.dummyHash, password);
    return hash !== null && matches;
  }

  /** True when the hash was made with other parameters than today's, so it should be redone. */
  needsRehash(hash: string): boolean {
    const { memoryCost, timeCost } = PasswordHasher.argon2(this.options);
    return argon2.needsRehash(hash, { memoryCost, timeCost });
  }
}
