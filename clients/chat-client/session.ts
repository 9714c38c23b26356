import { isUnauthenticated, SignedOutError } from './errors';
import type { Tokens, TokenStore } from './token-store';

export type RefreshTokens = (refreshToken: string) => Promise<Tokens>;

/**
 * The signed-in session of one client: hands out an access token that is still good,
 * refreshing it shortly before it expires or when the gateway has refused it.
 *
 * Refreshes run one at a time: auth treats a refresh token presented twice as stolen and ends
 * the session, so concurrent callers share the refresh in flight instead of starting their own.
 */
export class Session {
  private refreshing: Promise<Tokens> | undefined;

  constructor(
    private readonly store: TokenStore,
    private readonly refreshTokens: RefreshTokens,
    /** Refresh when the access token expires within this long. */
    private readonly refreshMarginMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  tokens(): Promise<Tokens | undefined> {
    return this.store.load();
  }

  start(tokens: Tokens): Promise<void> {
    return this.store.save(tokens);
  }

  end(): Promise<void> {
    return this.store.save(undefined);
  }

  /** A valid access token; `undefined` when signed out. */
  async accessToken(): Promise<string | undefined> {
    const tokens = await this.store.load();
    if (!tokens) return undefined;
    if (Date.parse(tokens.accessTokenExpiresAt) - this.now() > this.refreshMarginMs)
      return tokens.accessToken;
    return (await this.renew(tokens.accessToken)).accessToken;
  }

  /**
   * New tokens in place of `staleAccessToken`. When another caller has already replaced it,
   * its tokens are returned as they are. A refresh token auth refuses ends the session here too.
   */
  renew(staleAccessToken: string): Promise<Tokens> {
    this.refreshing ??= this.refresh(staleAccessToken).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(staleAccessToken: string): Promise<Tokens> {
    const current = await this.store.load();
    if (!current) throw new SignedOutError();
    if (current.accessToken !== staleAccessToken) return current;
    try {
      const fresh = await this.refreshTokens(current.refreshToken);
      await this.store.save(fresh);
      return fresh;
    } catch (error) {
      if (!isUnauthenticated(error)) throw error;
      await this.store.save(undefined);
      throw new SignedOutError();
    }
  }
}
