import { dropSchemas } from '../../common/testing/cleanup';
import { appliedMigrations } from '../../common/testing/migrations';
import { testServers } from '../../common/testing/env';
import { silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';
import { authMigrations } from '../../subgraphs/auth/store/migrations';
import { conversationMigrations } from '../../subgraphs/conversation/store/migrations';
import { loadMigrationConfig, migrateAll } from './migrations';

const { databaseUrl } = testServers();
const namespace = testNamespace('migrations');
const config = loadMigrationConfig({
  DATABASE_URL: databaseUrl,
  AUTH_DB_SCHEMA: `${namespace}_auth`,
  CONVERSATION_DB_SCHEMA: `${namespace}_conversation`,
  LOG_LEVEL: 'silent',
});

afterAll(() => dropSchemas(databaseUrl, [config.AUTH_DB_SCHEMA, config.CONVERSATION_DB_SCHEMA]));

test('replicas starting together (or the migration Job beside them) apply each migration once, one at a time', async () => {
  // Four at once, as four replicas of a Deployment rolled out on an empty database would.
  await Promise.all(Array.from({ length: 4 }, () => migrateAll(config, silentLogger())));

  expect(await appliedMigrations(databaseUrl, config.AUTH_DB_SCHEMA)).toEqual(
    authMigrations.map(({ name }) => name),
  );
  expect(await appliedMigrations(databaseUrl, config.CONVERSATION_DB_SCHEMA)).toEqual(
    conversationMigrations.map(({ name }) => name),
  );
});

test('a start on an up-to-date schema changes nothing', async () => {
  await migrateAll(config, silentLogger());
  expect(await appliedMigrations(databaseUrl, config.AUTH_DB_SCHEMA)).toEqual(
    authMigrations.map(({ name }) => name),
  );
});
