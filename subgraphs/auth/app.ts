import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, migrate, pingDatabase } from '../../common/database';
import type { Logger } from '../../common/logger';
import { createRedis } from '../../common/redis';
import { databaseTimeoutsOf } from '../../common/service-config';
import { SessionRevocationList } from '../../common/session-revocation';
import { startSubgraphServer, type RunningSubgraph } from '../../common/subgraph-server';
import type { AuthConfig } from './config';
import { type AuthServices, createAuthContext } from './context';
import { authEntities } from './entities';
import { jwksRoute } from './jwks';
import { createKeyStore } from './keys';
import { authMigrations } from './migrations';
import { buildAuthSchema } from './schema';
import { AccessTokenIssuer } from './services/access-token-issuer';
import { AccountService } from './services/account.service';
import { BackgroundTasks } from './services/background-tasks';
import { createMailer } from './services/mailer';
import { startMaintenance, type Sweepable } from './services/maintenance';
import { PasswordHasher } from './services/password-hasher';
import { PasswordResetService } from './services/password-reset.service';
import { RoleService } from './services/role.service';
import { SessionService } from './services/session.service';
import { LoginThrottle, ResetMailThrottle } from './services/throttles';
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
    { smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, production: config.NODE_ENV === 'production' },
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
    const keys = await createKeyStore(config, em);
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
      failuresPerEmail: config.LOGIN_FAILURES_PER_EMAIL,
      failuresPerAddress: config.LOGIN_FAILURES_PER_ADDRESS,
      windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
    });
    const passwordResets = new PasswordResetService(
      em,
      passwords,
      sessions,
      mailer,
      new ResetMailThrottle(redis, config.PASSWORD_RESET_MAILS_PER_HOUR),
      background,
      { tokenTtlSeconds: config.PASSWORD_RESET_TTL_SECONDS, resetUrl: config.PASSWORD_RESET_URL },
      logger,
    );
    const services: AuthServices = {
      accounts: new AccountService(em, passwords, loginThrottle, sessions),
      sessions,
      passwordResets,
      users: new UserService(em),
      roles: new RoleService(em, sessions),
    };

    const promoted = await services.users.promote(config.ADMIN_EMAILS);
    if (promoted.length > 0)
      logger.info({ userIds: promoted.map((user) => user.id) }, 'ADMIN_EMAILS promoted');

    const republish = () =>
      sessions.republishRevocations().then(
        (count) => count > 0 && logger.info({ count }, 'session revocations written to Redis again'),
        (error: Error) => logger.warn({ err: error.message }, 'could not write session revocations again'),
      );
    // Every (re)connection: a Redis that restarted has lost the list.
    revocationRedis.on('ready', republish);
    if (revocationRedis.status === 'ready') void republish();

    const sweeps: Record<string, Sweepable> = { sessions, 'password reset tokens': passwordResets };
    if (keys.kind === 'database') sweeps['signing keys'] = keys.store;
    stopMaintenance = startMaintenance(sweeps, logger);

    return await startSubgraphServer({
      name: 'auth',
      schema: await buildAuthSchema(),
      host: config.HOST,
      port: config.AUTH_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      healthChecks: {
        postgres: { check: () => pingDatabase(orm), critical: true },
        // Without Redis, sign-in still works (throttled in memory) but sign-out cannot be enforced.
        redis: { check: () => revocationRedis.ping(), critical: false },
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
