import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, migrate, pingDatabase } from '../../common/stores/database';
import { RedisNonceStore } from '../../common/identity/identity-verifier';
import type { Logger } from '../../common/logging/logger';
import { createRedis } from '../../common/stores/redis';
import { databaseTimeoutsOf } from '../../common/config/service-env';
import { SessionRevocationList } from '../../common/identity/session-revocation';
import { startSubgraphServer, type RunningSubgraph } from '../../common/server/subgraph-server';
import type { AuthConfig } from './config';
import { type AuthServices, createAuthContext } from './context';
import { authEntities } from './store/entities';
import { jwksRoute } from './jwks-route';
import { createKeyStore } from './configured-key-store';
import { authMigrations } from './store/migrations';
import { buildAuthSchema } from './schema';
import { AccessTokenIssuer } from './services/access-token-issuer';
import { AccountService } from './services/account.service';
import { AdminEmails } from './services/admin-emails';
import { BackgroundTasks } from './services/background-tasks';
import { EmailVerificationService } from './services/email-verification.service';
import { createMailer } from './clients/mailer';
import { startMaintenance, type Sweepable } from './services/maintenance';
import { PasswordHasher } from './services/password-hasher';
import { PasswordResetService } from './services/password-reset.service';
import { RoleService } from './services/role.service';
import { SessionService } from './services/session.service';
import { LoginThrottle, MailThrottle } from './services/throttles';
import { UserService } from './services/user.service';

/** Wires the auth subgraph: database (migrated), Redis, keys, services, schema, server. */
export async function startAuthSubgraph(config: AuthConfig, logger: Logger): Promise<RunningSubgraph> {
  const database = {
    url: config.DATABASE_URL,
    schema: config.AUTH_DB_SCHEMA,
    entities: authEntities,
    migrations: authMigrations,
    logger,
  };
  const orm = await createDatabase({ ...database, timeouts: databaseTimeoutsOf(config) });
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const revocationRedis = createRedis({
    url: config.REDIS_URL,
    keyPrefix: config.SESSION_REVOCATION_PREFIX,
    logger,
  });
  const mailer = createMailer(
    { smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, dropDir: config.MAIL_DROP_DIR },
    logger,
  );
  const background = new BackgroundTasks(logger);
  let stopMaintenance: (() => Promise<void>) | undefined;
  const close = async () => {
    await stopMaintenance?.();
    await background.drain();
    mailer.close();
    redis.disconnect();
    revocationRedis.disconnect();
    await orm.close();
  };
  try {
    await migrate(database);
    const em = orm.em as EntityManager;
    const keys = await createKeyStore(config, em, logger);
    const passwords = await PasswordHasher.create({
      memoryKib: config.PASSWORD_HASH_MEMORY_KIB,
      iterations: config.PASSWORD_HASH_ITERATIONS,
    });
    const accessTokens = new AccessTokenIssuer(keys.store, {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    });
    const sessions = new SessionService(
      em,
      accessTokens,
      new SessionRevocationList(revocationRedis),
      {
        accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      },
      logger,
    );
    const loginThrottle = new LoginThrottle(redis, {
      failuresPerAccountAndAddress: config.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
      failuresPerAddress: config.LOGIN_FAILURES_PER_ADDRESS,
      slowdownAfterFailures: config.LOGIN_SLOWDOWN_AFTER_FAILURES,
      slowdownMaxDelayMs: config.LOGIN_SLOWDOWN_MAX_DELAY_MS,
      windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
    });
    const adminEmails = new AdminEmails(config.ADMIN_EMAILS);
    const verification = new EmailVerificationService(
      em,
      mailer,
      new MailThrottle(redis, 'verification-mail', config.VERIFICATION_MAILS_PER_HOUR),
      background,
      adminEmails,
      { tokenTtlSeconds: config.EMAIL_VERIFICATION_TTL_SECONDS, verifyUrl: config.EMAIL_VERIFICATION_URL },
      logger,
    );
    const passwordResets = new PasswordResetService(
      em,
      passwords,
      sessions,
      verification,
      mailer,
      new MailThrottle(redis, 'reset-mail', config.PASSWORD_RESET_MAILS_PER_HOUR),
      background,
      { tokenTtlSeconds: config.PASSWORD_RESET_TTL_SECONDS, resetUrl: config.PASSWORD_RESET_URL },
      logger,
    );
    const services: AuthServices = {
      accounts: new AccountService(em, passwords, loginThrottle, sessions, verification),
      sessions,
      passwordResets,
      verification,
      users: new UserService(em),
      roles: new RoleService(em, sessions),
    };

    // Accounts verified while no auth listed them (or before they were listed); see AdminEmails.
    const promoted = await adminEmails.promote(em.fork());
    if (promoted.length > 0) logger.info({ userIds: promoted }, 'ADMIN_EMAILS promoted');

    const republish = () =>
      sessions.republishRevocations().then(
        (count) => count > 0 && logger.info({ count }, 'session revocations written to Redis again'),
        (error: Error) => logger.warn({ err: error.message }, 'could not write session revocations again'),
      );
    // Every (re)connection: a Redis that restarted has lost the list.
    revocationRedis.on('ready', republish);
    if (revocationRedis.status === 'ready') void republish();

    const sweeps: Record<string, Sweepable> = {
      sessions,
      'password reset tokens': passwordResets,
      'email verification tokens': verification,
    };
    if (keys.kind === 'database') sweeps['signing keys'] = keys.store;
    stopMaintenance = startMaintenance(sweeps, logger);

    return await startSubgraphServer({
      name: 'auth',
      schema: await buildAuthSchema(),
      host: config.HOST,
      port: config.AUTH_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(redis),
      guard: config,
      healthChecks: {
        postgres: { check: () => pingDatabase(orm), critical: true },
        // Without Redis no signed identity can be checked once (its nonce), so nothing is served.
        redis: { check: () => redis.ping(), critical: true },
      },
      createContext: (base) => createAuthContext(services, base),
      routes: jwksRoute(keys.store, logger),
      onStop: close,
    });
  } catch (error) {
    await close();
    throw error;
  }
}
