import { getOperationAST, type OperationDefinitionNode } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../common/errors/errors';
import type { Identity } from '../../common/identity/identity';
import { fragmentsOf, rootFieldsOf } from '../../common/graphql/operation-shape';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

export type Budget = 'operations' | 'chatSends' | 'authAttempts' | 'subscriptions';

export interface BudgetLimit {
  points: number;
  durationSeconds: number;
}

export interface RateLimitOptions {
  /** The gateway's Redis; fail-fast (common/stores/redis.ts), so an outage reaches the fallback at once. */
  redis: Redis;
  budgets: Record<Budget, BudgetLimit>;
  /** Prefix of the counters' keys, after the Redis client's own. */
  keyPrefix: string;
  onRefused?: (budget: Budget) => void;
}

export const DEFAULT_RATE_LIMIT_BUDGETS: Record<Budget, BudgetLimit> = {
  operations: { points: 1200, durationSeconds: 60 },
  chatSends: { points: 30, durationSeconds: 60 },
  authAttempts: { points: 30, durationSeconds: 300 },
  subscriptions: { points: 120, durationSeconds: 60 },
};

/** Root fields that start a generation: each one selected is one chat send. */
export const CHAT_SEND_FIELDS: ReadonlySet<string> = new Set([
  'sendMessage',
  'chat',
  'regenerate',
  'editMessage',
]);
/** Root mutations that try a credential or mail a user: each one is one auth attempt. */
export const AUTH_ATTEMPT_FIELDS: ReadonlySet<string> = new Set([
  'login',
  'register',
  'refreshToken',
  'requestPasswordReset',
  'resetPassword',
]);

type Charges = Partial<Record<Budget, number>>;

/**
 * What an operation costs in each budget: one operation; one subscription if it is one; and, per
 * root field selected (aliases repeat a field), one chat send or auth attempt.
 */
export function chargesOf(
  operation: OperationDefinitionNode,
  document: { definitions: readonly { kind: string }[] },
): Charges {
  const charges: Charges = { operations: 1 };
  if (operation.operation === 'subscription') charges.subscriptions = 1;
  if (operation.operation === 'query') return charges;
  for (const [field, times] of rootFieldsOf(operation, fragmentsOf(document))) {
    if (CHAT_SEND_FIELDS.has(field)) charges.chatSends = (charges.chatSends ?? 0) + times;
    if (AUTH_ATTEMPT_FIELDS.has(field) && operation.operation === 'mutation')
      charges.authAttempts = (charges.authAttempts ?? 0) + times;
  }
  return charges;
}

/** A user is limited by their id wherever they connect from; an anonymous caller by address. */
export const rateLimitKey = (identity: Identity): string =>
  identity.userId ? `user:${identity.userId}` : `ip:${identity.clientAddress ?? 'unknown'}`;

/**
 * Fixed-window budgets in Redis, shared by every gateway replica. While Redis is down each
 * budget falls back to a limiter in this process's memory (rate-limiter-flexible's insurance
 * limiter) with the same points: the limits hold per replica instead of across them, so the door
 * is never left open and a request never fails because Redis did.
 */
export class RateLimits {
  private readonly limiters: Record<Budget, RateLimiterRedis>;

  constructor(private readonly options: RateLimitOptions) {
    const limiter = (budget: Budget) => {
      const { points, durationSeconds: duration } = options.budgets[budget];
      return new RateLimiterRedis({
        storeClient: options.redis,
        keyPrefix: `${options.keyPrefix}${budget}`,
        points,
        duration,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: budget, points, duration }),
      });
    };
    this.limiters = {
      operations: limiter('operations'),
      chatSends: limiter('chatSends'),
      authAttempts: limiter('authAttempts'),
      subscriptions: limiter('subscriptions'),
    };
  }

  /** Takes the charges from the caller's budgets; rejects with RATE_LIMITED when one is spent. */
  async consume(identity: Identity, charges: Charges): Promise<void> {
    const key = rateLimitKey(identity);
    const outcomes = await Promise.all(
      (Object.entries(charges) as [Budget, number][]).map(async ([budget, points]) => {
        try {
          await this.limiters[budget].consume(key, points);
          return undefined;
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) throw refusal;
          return { budget, msBeforeNext: refusal.msBeforeNext };
        }
      }),
    );
    const refusals = outcomes.filter((outcome) => outcome !== undefined);
    if (refusals.length === 0) return;
    const longest = refusals.reduce((a, b) => (b.msBeforeNext > a.msBeforeNext ? b : a));
    for (const { budget } of refusals) this.options.onRefused?.(budget);
    throw new AppError('RATE_LIMITED', 'Too many requests; try again later', {
      retryAfter: Math.max(1, Math.ceil(longest.msBeforeNext / 1000)),
      limit: longest.budget,
    });
  }
}

/**
 * Rate limits on every operation before it is planned (HTTP, and queries over WebSocket/SSE
 * through Apollo) and on every subscription before it opens. Over HTTP a refusal is a 429 with
 * `Retry-After`.
 */
export function useRateLimit(options: RateLimitOptions): GatewayPlugin {
  const limits = new RateLimits(options);
  return {
    name: 'rate-limit',
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ operation, document, contextValue }) {
            if (!operation) return;
            try {
              await limits.consume(contextValue.identity, chargesOf(operation, document));
            } catch (error) {
              if (!(error instanceof AppError)) throw error;
              throw httpRefusal(error, { 'retry-after': String(error.details.retryAfter) });
            }
          },
        };
      },
    },
    subscriptions: {
      admit: async (request, context) => {
        const operation = getOperationAST(request.document, request.operationName);
        if (operation) await limits.consume(context.identity, chargesOf(operation, request.document));
      },
    },
  };
}
