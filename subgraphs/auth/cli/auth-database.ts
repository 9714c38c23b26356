import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, migrate } from '../../../common/stores/database';
import { createLogger } from '../../../common/logging/logger';
import type { AuthConfig } from '../config';
import { authDatabaseOptions } from '../store/database-options';

/** Runs a command-line task on auth's schema (migrated first, as auth would at start). */
export async function withAuthDatabase<Result>(
  config: AuthConfig,
  task: (em: EntityManager) => Promise<Result>,
): Promise<Result> {
  const database = authDatabaseOptions(config, createLogger({ service: 'auth-cli', level: 'warn' }));
  await migrate(database);
  const orm = await createDatabase({ ...database, poolSize: 1 });
  try {
    return await task(orm.em as EntityManager);
  } finally {
    await orm.close();
  }
}

/** Runs a command's main function: usage errors and failures go to stderr with a non-zero exit. */
export function runCli(main: (args: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

export class UsageError extends Error {
  override name = 'UsageError';
}
