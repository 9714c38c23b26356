import { Redis } from 'ioredis';
import { Client } from 'pg';
import { withSchemaChangeLock } from '../stores/database';

/** Drops the PostgreSQL schemas a test file created, never while another file migrates. */
export async function dropSchemas(databaseUrl: string, schemas: string[]): Promise<void> {
  await withSchemaChangeLock(databaseUrl, async () => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });
}

/** Deletes every Redis key under a test file's prefix. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
