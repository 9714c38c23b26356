import { z } from 'zod';
import { ACCESS_TOKEN_ALGORITHMS, accessTokenEnv } from '../../common/identity/access-token';
import { ConfigError, env, loadConfig } from '../../common/config/load-config';
import { commonEnv, databaseEnv } from '../../common/config/service-env';
import { sessionRevocationEnv } from '../../common/identity/session-revocation';

/** A JSON value in a variable, checked against a shape, with the JSON error named like any other. */
const json = <Shape extends z.ZodType>(shape: Shape) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(shape);

const publicJwk = z.looseObject({
  kty: z.enum(['OKP', 'EC']),
  crv: z.enum(['Ed25519', 'P-256']),
  x: z.string(),
  kid: z.string().optional(),
});
const privateJwk = publicJwk.extend({ d: z.string() });

const HOUR = 3600;

export const authEnv = {
  ...commonEnv,
  ...accessTokenEnv,
  ...sessionRevocationEnv,
  AUTH_PORT: env.port(4001),
  DATABASE_URL: env.postgresUrl(),
  ...databaseEnv,
  AUTH_DB_SCHEMA: env.pgSchema('auth'),
  /** Login throttling and the session revocation list. */
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default('auth:'),

  ACCESS_TOKEN_TTL_SECONDS: env.int(15 * 60, 1),
  REFRESH_TOKEN_TTL_SECONDS: env.int(30 * 24 * HOUR, 60),
  /** Algorithm of the keys auth generates; a key given in JWT_PRIVATE_JWK brings its own. */
  JWT_ALGORITHM: z.enum(ACCESS_TOKEN_ALGORITHMS).default('EdDSA'),
  /** A private JWK (Ed25519 or P-256) to sign with instead of keys kept in PostgreSQL. */
  JWT_PRIVATE_JWK: json(privateJwk).optional(),
  /** With JWT_PRIVATE_JWK: public JWKs still published, e.g. the previous key after a rotation. */
  JWT_PREVIOUS_PUBLIC_JWKS: json(z.array(publicJwk)).optional(),
  /**
   * 32 bytes in hex (`openssl rand -hex 32`) that encrypt the private keys auth keeps in PostgreSQL,
   * so a copy of the database cannot sign tokens. Keys stored before it was set stay readable.
   */
  SIGNING_KEY_ENCRYPTION_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 32 bytes in hex (openssl rand -hex 32)')
    .optional(),
  /**
   * A rotated-in key is published at once but signs only after this delay, so every verifier
   * (the gateway refetches at most every JWKS_COOLDOWN_MS) knows it before it meets a token.
   */
  JWT_KEY_ACTIVATION_DELAY_SECONDS: env.int(60),

  PASSWORD_HASH_MEMORY_KIB: env.int(64 * 1024, 1024),
  PASSWORD_HASH_ITERATIONS: env.int(3, 1),

  PASSWORD_RESET_TTL_SECONDS: env.int(30 * 60, 60),
  /** The page of the client that takes the reset token; the mail links to it with `#token=…`. */
  PASSWORD_RESET_URL: env.url().default('http://localhost:3000/reset-password'),
  PASSWORD_RESET_MAILS_PER_HOUR: env.int(3, 1),
  /** `smtp://user:pass@host:port` or `smtps://…`; unset: mails go to MAIL_DROP_DIR, or nowhere. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('LLM Chat <no-reply@localhost>'),
  /** Without SMTP_URL: a directory that receives each mail as a file (`npm start` sets `.data/mail`). */
  MAIL_DROP_DIR: z.string().min(1).optional(),

  EMAIL_VERIFICATION_TTL_SECONDS: env.int(24 * HOUR, 60),
  /** The page of the client that takes the verification token; the mail links to it with `#token=…`. */
  EMAIL_VERIFICATION_URL: env.url().default('http://localhost:3000/verify-email'),
  VERIFICATION_MAILS_PER_HOUR: env.int(3, 1),

  /**
   * Addresses whose accounts become ADMIN once their owner has verified the address: at that
   * moment, or at the next start. Never again after an operator has set the account's role.
   */
  ADMIN_EMAILS: env.list(),

  /** Failed logins per client address on one account, and per client address, per window. */
  LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS: env.int(5, 1),
  LOGIN_FAILURES_PER_ADDRESS: env.int(20, 1),
  /** Failed logins on one account (any address) per window before its attempts are slowed down. */
  LOGIN_SLOWDOWN_AFTER_FAILURES: env.int(10, 1),
  /** The longest a slowed-down attempt waits; keep it well under the gateway's SUBGRAPH_TIMEOUT_MS. */
  LOGIN_SLOWDOWN_MAX_DELAY_MS: env.int(5000, 0),
  LOGIN_THROTTLE_WINDOW_SECONDS: env.int(15 * 60, 1),
};

export type AuthConfig = ReturnType<typeof loadConfig<typeof authEnv>>;

export function loadAuthConfig(source: NodeJS.ProcessEnv = process.env): AuthConfig {
  const config = loadConfig(authEnv, source);
  if (config.JWT_PREVIOUS_PUBLIC_JWKS && !config.JWT_PRIVATE_JWK) {
    throw new ConfigError(['JWT_PREVIOUS_PUBLIC_JWKS: only meaningful with JWT_PRIVATE_JWK']);
  }
  return config;
}
