/**
 * `npm run migrate`, and the Kubernetes migration Job: brings auth's and conversation's schemas up to
 * date, each under the schema-change advisory lock (common/stores/database.ts), then exits. Auth and
 * conversation migrate the same way when they start, so running this is never required; it takes a
 * long migration out of the services' start-up, where a startup probe would cut it short.
 */
import 'reflect-metadata';
import { createLogger } from '../common/logging/logger';
import { loadMigrationConfig, migrateAll } from './platform/migrations';

async function main(): Promise<void> {
  const config = loadMigrationConfig();
  await migrateAll(config, createLogger({ service: 'migrate', level: config.LOG_LEVEL }));
}

main().catch((error: unknown) => {
  process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
