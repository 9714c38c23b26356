import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose' with { 'resolution-mode': 'import' };
import { loadJose } from '../../common/util/jose';
import type { Logger } from '../../common/logging/logger';

/** No key set has been fetched yet and none can be now: tokens cannot be verified. */
export class KeySetUnavailableError extends Error {
  override name = 'KeySetUnavailableError';
}

export interface JwksCacheOptions {
  /** Fetches the JWKS document; rejects when it cannot. */
  fetchKeySet: () => Promise<unknown>;
  /** A set older than this is refreshed in the background while it keeps serving. */
  maxAgeMs: number;
  /** No two fetches start closer than this, so tokens with made-up key ids cannot flood auth. */
  cooldownMs: number;
  logger: Logger;
  now?: () => number;
}

interface Snapshot {
  select: JWTVerifyGetKey;
  kids: ReadonlySet<string>;
  fetchedAt: number;
}

/**
 * Auth's public keys, fetched once and kept. A token with an unknown key id makes it refetch at
 * once (a rotation), unless it fetched within the cooldown. When auth cannot be reached, the
 * keys already held keep serving; with none held, verification fails: it never falls back to
 * letting a request through.
 */
export class JwksCache {
  private snapshot: Snapshot | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The verification key for a token, in the form `jwtVerify` takes. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const known = header.kid !== undefined && (this.snapshot?.kids.has(header.kid) ?? false);
    if (!known && (this.inFlight || this.mayFetch())) await this.refresh();
    else if (known && this.isStale() && this.mayFetch()) void this.refresh();
    if (!this.snapshot) throw new KeySetUnavailableError('The signing keys of auth are unavailable');
    return this.snapshot.select(header, token);
  };

  /** Whether the key set held now has a key with this id (no fetch). */
  holds(kid: string): boolean {
    return this.snapshot?.kids.has(kid) ?? false;
  }

  private mayFetch(): boolean {
    return this.now() - this.lastAttemptAt >= this.options.cooldownMs;
  }

  private isStale(): boolean {
    return !this.snapshot || this.now() - this.snapshot.fetchedAt >= this.options.maxAgeMs;
  }

  /** One fetch at a time; never rejects (a failure is logged and the held keys stay). */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetch(): Promise<void> {
    this.lastAttemptAt = this.now();
    try {
      const document = await this.options.fetchKeySet();
      const { createLocalJWKSet } = await loadJose();
      const select = createLocalJWKSet(document as JSONWebKeySet);
      const kids = new Set((document as JSONWebKeySet).keys.flatMap((key) => (key.kid ? [key.kid] : [])));
      this.snapshot = { select, kids, fetchedAt: this.now() };
    } catch (error) {
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        this.snapshot ? 'could not refresh the JWKS; keeping the keys held' : 'could not fetch the JWKS',
      );
    }
  }
}

/** GETs a JWKS over HTTP: 200 and JSON, within the timeout, no redirects. */
export const httpKeySet = (url: string, timeoutMs: number) => async (): Promise<unknown> => {
  const response = await fetch(url, {
    headers: { accept: 'application/jwk-set+json, application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  return response.json();
};
