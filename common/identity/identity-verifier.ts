import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { upstreamUnavailable } from '../errors/errors';
import {
  CONNECTION_DIGEST,
  IDENTITY_CLOCK_SKEW_MS,
  type Identity,
  invalidIdentity,
  operationDigest,
  type SignedOperation,
  verifyIdentity,
} from './identity';

/** Remembers nonces for as long as their header is accepted, shared by every replica of a subgraph. */
export interface NonceStore {
  /** True the first time `nonce` is claimed within `ttlMs`, false after; rejects when it cannot tell. */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
}

/** How long a claim waits for a Redis connection that is still being made (start, reconnect). */
const CONNECTING_WAIT_MS = 1_000;

/**
 * Nonces in the subgraph's Redis, under its key prefix: one `SET … NX PX` per request, which is
 * atomic, so two replicas given the same header cannot both accept it. The client fails fast
 * (common/stores/redis.ts), so a claim made while it (re)connects waits briefly for it first.
 */
export class RedisNonceStore implements NonceStore {
  constructor(private readonly redis: Redis) {}

  async claim(nonce: string, ttlMs: number): Promise<boolean> {
    if (this.redis.status !== 'ready') {
      await once(this.redis, 'ready', { signal: AbortSignal.timeout(CONNECTING_WAIT_MS) }).catch(
        () => undefined,
      );
    }
    return (await this.redis.set(`identity-nonce:${nonce}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}

export interface IdentityVerifierOptions {
  secret: string;
  /** This subgraph's name: headers signed for another are refused. */
  audience: string;
  nonces: NonceStore;
}

/**
 * A subgraph's check of the signed identity (docs/protocol.md#signed-identity): the signature,
 * the audience, the digest of what it authorises, its lifetime, then its nonce, so each header is
 * accepted once by all replicas together. When the nonce store cannot answer, the request is
 * refused with UPSTREAM_UNAVAILABLE (retryable): never accepted unchecked.
 */
export class IdentityVerifier {
  constructor(private readonly options: IdentityVerifierOptions) {}

  /** For an HTTP request's body or a graphql-ws subscribe payload. */
  verifyOperation(header: string | undefined, operation: SignedOperation): Promise<Identity> {
    return this.verify(header, operationDigest(operation));
  }

  /** For a graphql-ws `connection_init`. */
  verifyConnection(header: string | undefined): Promise<Identity> {
    return this.verify(header, CONNECTION_DIGEST);
  }

  private async verify(header: string | undefined, digest: string): Promise<Identity> {
    const now = Date.now();
    const verified = verifyIdentity(
      header,
      this.options.secret,
      { audience: this.options.audience, digest },
      now,
    );
    // Another replica's clock may run behind this one's: keep the nonce past this one's window by the skew.
    const ttlMs = verified.acceptedUntil - now + IDENTITY_CLOCK_SKEW_MS;
    let fresh: boolean;
    try {
      fresh = await this.options.nonces.claim(verified.nonce, ttlMs);
    } catch {
      throw upstreamUnavailable('redis');
    }
    if (!fresh) throw invalidIdentity();
    return verified.identity;
  }
}
