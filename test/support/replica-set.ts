import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { deleteRedisKeys, dropSchemas } from '../../common/testing/cleanup';
import { testNamespace } from '../../common/testing/namespace';
import { type ReplicaSet, startReplicaSet } from '../../scripts/platform/replicas';
import { PLATFORM_SERVICES } from '../../scripts/platform/services';
import { testPlatformEnv, testRedisPrefix } from './platform';

export interface TestReplicaSet {
  replicas: ReplicaSet;
  /** The environment every process was started with (ports and topology aside). */
  env: Record<string, string>;
  /** Stops every process and HAProxy, then deletes the namespace's schemas, keys and work directory. */
  stop: () => Promise<void>;
}

/**
 * `count` processes of each service behind HAProxy (scripts/platform/replicas.ts), run from source,
 * on the test stores in a namespace of the caller's own: each service its own Redis key prefix, as
 * startTestPlatform gives them. Recall and the search indexer are off unless `overrides` turns them
 * on: each would load the word vectors into every conversation process. A process that fails to
 * start fails this with the output of every process.
 */
export async function startTestReplicaSet(
  label: string,
  overrides: Record<string, string> = {},
  count = 2,
): Promise<TestReplicaSet> {
  const namespace = testNamespace(label);
  const env = testPlatformEnv(namespace, {
    RECALL_ENABLED: 'false',
    SEARCH_INDEXER_ENABLED: 'false',
    ...overrides,
  });
  let output = '';
  const sink = new PassThrough().on('data', (chunk: Buffer) => (output += chunk.toString()));
  const workDir = await mkdtemp(join(tmpdir(), `${label}-`));
  let replicas: ReplicaSet | undefined;
  const stop = async () => {
    await replicas?.stop();
    await dropSchemas(env.DATABASE_URL, [env.AUTH_DB_SCHEMA, env.CONVERSATION_DB_SCHEMA]);
    await deleteRedisKeys(env.REDIS_URL, `${namespace}:`);
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    replicas = await startReplicaSet({
      replicas: count,
      env,
      serviceEnv: Object.fromEntries(
        PLATFORM_SERVICES.map(({ name }) => [name, { REDIS_KEY_PREFIX: testRedisPrefix(namespace, name) }]),
      ),
      workDir,
      code: 'source',
      output: { stdout: sink, stderr: sink, colours: false },
      startTimeoutMs: 120_000,
    });
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\nThe processes' output:\n${output}`);
  }
  return { replicas, env, stop };
}
