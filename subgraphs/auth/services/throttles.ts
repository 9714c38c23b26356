import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../../common/errors/errors';
import type { ThrottleCount } from '../records/throttle.record';
import type { ThrottleCounter, ThrottleRepository } from '../repositories/throttle.repository';

/** RATE_LIMITED with `retryAfter` in whole seconds (at least one). */
export const rateLimited = (message: string, waitMs: number) =>
  new AppError('RATE_LIMITED', message, { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) });

export interface LoginThrottleLimits {
  /** Failures of one client address on one account before that pair is refused. */
  failuresPerAccountAndAddress: number;
  /** Failures of one client address, on any accounts, before it is refused. */
  failuresPerAddress: number;
  /** Failures on one account, from any addresses, before its attempts are slowed down. */
  slowdownAfterFailures: number;
  /** The longest an attempt on a slowed-down account waits. */
  slowdownMaxDelayMs: number;
  windowSeconds: number;
}

/** The first slow-down step; each further failure doubles it, up to the maximum. */
const FIRST_DELAY_MS = 250;

/** How long an attempt waits when its account has `failures` failures in the window. */
export function slowdownDelayMs(failures: number, limits: LoginThrottleLimits): number {
  const over = failures - limits.slowdownAfterFailures;
  if (over <= 0) return 0;
  return Math.min(limits.slowdownMaxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(over - 1, 30));
}

/**
 * Limits password guesses without handing anyone a switch that locks someone else out. Refusals
 * fall only on the guesser: per client address, and per address and account together. The account
 * as a whole, which guesses from many addresses share with its owner, is only slowed down: every
 * attempt on it waits a little longer, up to a bound, so its owner always gets through.
 */
export class LoginThrottle {
  private readonly byAddress: ThrottleCounter;
  private readonly byAccountAndAddress: ThrottleCounter;
  private readonly byAccount: ThrottleCounter;

  constructor(
    throttles: ThrottleRepository,
    private readonly limits: LoginThrottleLimits,
  ) {
    const { windowSeconds } = limits;
    this.byAddress = throttles.counter('login-address', limits.failuresPerAddress, windowSeconds);
    this.byAccountAndAddress = throttles.counter(
      'login-account-address',
      limits.failuresPerAccountAndAddress,
      windowSeconds,
    );
    // Counted with penalty(), which never refuses: the count only sets the delay.
    this.byAccount = throttles.counter('login-account', Number.MAX_SAFE_INTEGER, windowSeconds);
  }

  /**
   * Counts an attempt before the password is checked (so parallel guesses cannot slip past):
   * refuses it with RATE_LIMITED when its address, or its address on this account, has failed too
   * often (the error does not say which, so it tells nothing about the account); otherwise waits
   * as long as the account's failures ask, whether the password turns out right or wrong.
   */
  async attempt(email: string, clientAddress: string | undefined): Promise<void> {
    const results = await Promise.allSettled([
      this.byAccount.penalty(email),
      ...(clientAddress
        ? [
            this.byAddress.consume(clientAddress),
            this.byAccountAndAddress.consume(pair(email, clientAddress)),
          ]
        : []),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const [account, ...others] = results.map(
      (result) => (result as PromiseFulfilledResult<ThrottleCount>).value,
    );
    const refusals = others.filter((count) => count.refused);
    if (refusals.length > 0) {
      const waitMs = Math.max(...refusals.map((refusal) => refusal.msBeforeNext));
      throw rateLimited('Too many sign-in attempts; try again later', waitMs);
    }
    // This attempt is counted already: the delay follows the failures before it.
    const delayMs = slowdownDelayMs(account.consumedPoints - 1, this.limits);
    if (delayMs > 0) await sleep(delayMs);
  }

  /** Refuses a caller whose address is over its failure limit (for registration, which counts none). */
  async assertAddressAllowed(clientAddress: string | undefined): Promise<void> {
    if (!clientAddress) return;
    const count = await this.byAddress.get(clientAddress);
    if (count && count.consumedPoints >= this.limits.failuresPerAddress) {
      throw rateLimited('Too many sign-in attempts; try again later', count.msBeforeNext);
    }
  }

  /** Counts a failure against the address alone (a registration of an email that is taken). */
  async addressFailed(clientAddress: string | undefined): Promise<void> {
    if (clientAddress) await this.byAddress.penalty(clientAddress);
  }

  /**
   * The right password: this attempt does not count as a failure anywhere, and this address's
   * failures on the account start over. The account's other failures stay until the window ends:
   * the owner signing in says nothing about guesses from elsewhere.
   */
  async succeeded(email: string, clientAddress: string | undefined): Promise<void> {
    await Promise.all([
      this.byAccount.reward(email),
      ...(clientAddress
        ? [this.byAddress.reward(clientAddress), this.byAccountAndAddress.delete(pair(email, clientAddress))]
        : []),
    ]);
  }
}

const pair = (email: string, clientAddress: string) => `${clientAddress}|${email}`;

/** Caps mails per account (resets, verifications), so an endpoint cannot be used to flood an inbox. */
export class MailThrottle {
  private readonly perAccount: ThrottleCounter;

  constructor(throttles: ThrottleRepository, keyPrefix: string, mailsPerHour: number) {
    this.perAccount = throttles.counter(keyPrefix, mailsPerHour, 3600);
  }

  /** Counts a mail; false (and how long until the next may go) when the hourly budget is spent. */
  async allow(key: string): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }> {
    const count = await this.perAccount.consume(key);
    return count.refused ? { allowed: false, retryAfterMs: count.msBeforeNext } : { allowed: true };
  }
}
