import { SigningKeyRepository } from './repositories/signing-key.repository';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { databaseTimeoutsOf } from '../../common/config/service-env';
import { RedisNonceStore } from '../../common/identity/identity-verifier';
import { SessionRevocationList } from '../../common/identity/session-revocation';
import type { Logger } from '../../common/logging/logger';
import { DisposalStack } from '../../common/server/disposal-stack';
import { startSubgraphServer, type RunningSubgraph } from '../../common/server/subgraph-server';
import { createDatabase, migrate, pingDatabase } from '../../common/stores/database';
import { createRedis } from '../../common/stores/redis';
import { createMailer } from './clients/mailer';
import type { AuthConfig } from './config';
import { type ConfiguredKeyStore, createKeyStore } from './configured-key-store';
import { type AuthServices, createAuthContext } from './context';
import { jwksRoute } from './jwks-route';
import { EmailVerificationRepository } from './repositories/email-verification.repository';
import { PasswordResetRepository } from './repositories/password-reset.repository';
import { SessionRepository } from './repositories/session.repository';
import { ThrottleRepository } from './repositories/throttle.repository';
import { UserRepository } from './repositories/user.repository';
import { buildAuthSchema } from './schema';
import { AccessTokenIssuer } from './services/access-token-issuer';
import { AccountService } from './services/account.service';
import { AdminEmails } from './services/admin-emails';
import { BackgroundTasks } from './services/background-tasks';
import { EmailVerificationService } from './services/email-verification.service';
import { startMaintenance, type Sweepable } from './services/maintenance';
import { PasswordHasher } from './services/password-hasher';
import { PasswordResetService } from './services/password-reset.service';
import { RoleService } from './services/role.service';
import { SessionService } from './services/session.service';
import { LoginThrottle, MailThrottle } from './services/throttles';
import { UserService } from './services/user.service';
import { authDatabaseOptions } from './store/database-options';

/** Auth's connections: PostgreSQL (migrated), Redis, and Redis under the revocation list's prefix. */
interface AuthStores {
  orm: Awaited<ReturnType<typeof createDatabase>>;
  em: EntityManager;
  redis: Redis;
  revocationRedis: Redis;
}

/** Wires the auth subgraph: stores, keys, services, schema, server; one stack releases them all. */
export function startAuthSubgraph(config: AuthConfig, logger: Logger): Promise<RunningSubgraph> {
  return new DisposalStack(logger).build(async (stack) => {
    const stores = await openStores(config, logger, stack);
    const keys = await createKeyStore(config, new SigningKeyRepository(stores.em), logger);
    const { services, adminEmails, sweeps } = await createServices(config, stores, keys, logger, stack);
    await promoteAdminEmails(adminEmails, logger);
    republishRevocationsOnReady(stores.revocationRedis, services.sessions, logger, stack);
    stack.defer('maintenance', startMaintenance(sweeps, logger));
    return startSubgraphServer({
      name: 'auth',
      schema: await buildAuthSchema(),
      host: config.HOST,
      port: config.AUTH_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(stores.redis),
      guard: config,
      shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
      healthChecks: {
        postgres: { check: () => pingDatabase(stores.orm), critical: true },
        // Without Redis no signed identity can be checked once (its nonce), so nothing is served.
        redis: { check: () => stores.redis.ping(), critical: true },
      },
      createContext: (base) => createAuthContext(services, base),
      routes: jwksRoute(keys.store, logger),
      onStop: () => stack.dispose(),
    });
  });
}

async function openStores(config: AuthConfig, logger: Logger, stack: DisposalStack): Promise<AuthStores> {
  const database = authDatabaseOptions(config, logger);
  const orm = stack.use(
    'postgres',
    await createDatabase({ ...database, timeouts: databaseTimeoutsOf(config) }),
    (opened) => opened.close(),
  );
  const redis = stack.use(
    'redis',
    createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger }),
    (client) => client.disconnect(),
  );
  const revocationRedis = stack.use(
    'revocation redis',
    createRedis({ url: config.REDIS_URL, keyPrefix: config.SESSION_REVOCATION_PREFIX, logger }),
    (client) => client.disconnect(),
  );
  await migrate(database);
  return { orm, em: orm.em as EntityManager, redis, revocationRedis };
}

async function createServices(
  config: AuthConfig,
  { em, redis, revocationRedis }: AuthStores,
  keys: ConfiguredKeyStore,
  logger: Logger,
  stack: DisposalStack,
) {
  const mailer = stack.use(
    'mailer',
    createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, dropDir: config.MAIL_DROP_DIR }, logger),
    (opened) => opened.close(),
  );
  const background = stack.use('background tasks', new BackgroundTasks(logger), (tasks) => tasks.drain());
  const users = new UserRepository(em);
  const throttles = new ThrottleRepository(redis);
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
    new SessionRepository(em, new SessionRevocationList(revocationRedis)),
    users,
    accessTokens,
    {
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    },
    logger,
  );
  const loginThrottle = new LoginThrottle(throttles, {
    failuresPerAccountAndAddress: config.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
    failuresPerAddress: config.LOGIN_FAILURES_PER_ADDRESS,
    slowdownAfterFailures: config.LOGIN_SLOWDOWN_AFTER_FAILURES,
    slowdownMaxDelayMs: config.LOGIN_SLOWDOWN_MAX_DELAY_MS,
    windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
  });
  const adminEmails = new AdminEmails(config.ADMIN_EMAILS, users);
  const verification = new EmailVerificationService(
    new EmailVerificationRepository(em),
    users,
    mailer,
    new MailThrottle(throttles, 'verification-mail', config.VERIFICATION_MAILS_PER_HOUR),
    background,
    adminEmails,
    { tokenTtlSeconds: config.EMAIL_VERIFICATION_TTL_SECONDS, verifyUrl: config.EMAIL_VERIFICATION_URL },
    logger,
  );
  const passwordResets = new PasswordResetService(
    new PasswordResetRepository(em),
    users,
    passwords,
    sessions,
    adminEmails,
    mailer,
    new MailThrottle(throttles, 'reset-mail', config.PASSWORD_RESET_MAILS_PER_HOUR),
    background,
    { tokenTtlSeconds: config.PASSWORD_RESET_TTL_SECONDS, resetUrl: config.PASSWORD_RESET_URL },
    logger,
  );
  const services: AuthServices = {
    accounts: new AccountService(users, passwords, loginThrottle, sessions, verification),
    sessions,
    passwordResets,
    verification,
    users: new UserService(users),
    roles: new RoleService(users, sessions),
  };
  const sweeps: Record<string, Sweepable> = {
    sessions,
    'password reset tokens': passwordResets,
    'email verification tokens': verification,
  };
  if (keys.kind === 'database') sweeps['signing keys'] = keys.store;
  return { services, adminEmails, sweeps };
}

/** Accounts verified while no auth listed them (or before they were listed); see AdminEmails. */
async function promoteAdminEmails(adminEmails: AdminEmails, logger: Logger): Promise<void> {
  const promoted = await adminEmails.promoteVerified();
  if (promoted.length > 0) logger.info({ userIds: promoted }, 'ADMIN_EMAILS promoted');
}

/** At every (re)connection: a Redis that restarted has lost the revocation list. */
function republishRevocationsOnReady(
  revocationRedis: Redis,
  sessions: SessionService,
  logger: Logger,
  stack: DisposalStack,
): void {
  const republish = () =>
    sessions.republishRevocations().then(
      (count) => count > 0 && logger.info({ count }, 'session revocations written to Redis again'),
      (error: unknown) => logger.warn({ err: error }, 'could not write session revocations again'),
    );
  revocationRedis.on('ready', republish);
  stack.defer('revocation republishing', () => void revocationRedis.off('ready', republish));
  if (revocationRedis.status === 'ready') void republish();
}
