import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Identity } from '../../common/identity/identity';
import { projectRoot } from '../../common/config/paths';
import { findFreePort } from '../../scripts/platform/ports';
import { failWhenExits, spawnLogged, stopProcess } from '../../scripts/platform/processes';
import { waitForHttp } from '../../scripts/platform/wait';
import type { RunningSubgraphs } from './subgraphs-process';

/** A server a benchmark started: where to reach it, and its process, to read its CPU and memory. */
export interface BenchServer {
  url: string;
  pid: number;
}

const root = projectRoot();
const dist = join(root, 'dist');
const STARTUP_TIMEOUT_MS = 120_000;

/**
 * A Node entry point of the project (`gateway/main`): the compiled file under dist/ when this
 * benchmark runs compiled (`npm run bench:*`), else the TypeScript source compiled on the fly by
 * the swc hook the tests use, so that a test can run a benchmark without a build.
 */
export function nodeEntry(path: string): { script: string; execArgv: string[] } {
  if (!__filename.endsWith('.ts')) return { script: join(dist, `${path}.js`), execArgv: [] };
  return {
    script: join(root, `${path}.ts`),
    execArgv: ['-r', join(root, 'common/testing/swc-register.js')],
  };
}

/** A Node server to start: its entry point (see nodeEntry) and where it answers once ready. */
export interface NodeServerSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
  /** Node options before the script (say, --cpu-prof). */
  execArgv?: string[];
  healthUrl: string;
}

/**
 * The processes of a benchmark run (the subgraphs, this gateway, Hive Gateway; for bench:turn each
 * service of the platform, startNode), each its own, so each one's CPU and memory can be read
 * apart, each writing to a log in `workDir`. `whileRunning` fails a measurement as soon as one of
 * them dies, quoting its log; `stop` ends them all.
 */
export class BenchServices {
  private readonly children: ChildProcess[] = [];
  private readonly failures: Promise<never>[] = [];

  constructor(private readonly workDir: string) {
    // Should this process die without stopping them, the servers go with it.
    process.once('exit', () => this.children.forEach((child) => child.kill('SIGKILL')));
  }

  /** `work`, unless a server exits first. */
  whileRunning<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, ...this.failures]);
  }

  /**
   * The subgraphs (bench/support/subgraphs-process.ts); resolves with what that process prints once
   * they listen. `env` overrides the platform's settings (say, the model provider); `execArgv` goes
   * to Node (say, --cpu-prof).
   */
  async startSubgraphs(
    env: Record<string, string> = {},
    execArgv: string[] = [],
  ): Promise<RunningSubgraphs & { pid: number }> {
    const { child, logPath } = this.spawn(
      'subgraphs',
      [...execArgv, join(dist, 'bench/support/subgraphs-process.js'), JSON.stringify(env)],
      // A pipe, so that the process stops (and drops its namespace) when this one dies; graphql-js
      // skips its development checks in production, as the services do when `npm start` runs them.
      { stdin: 'pipe', env: { NODE_ENV: 'production' } },
    );
    const started = Date.now();
    for (;;) {
      const lines = (await readFile(logPath, 'utf8')).split('\n');
      const ready = lines.find((line) => line.startsWith('{"seedUrl"'));
      if (ready) return { ...(JSON.parse(ready) as RunningSubgraphs), pid: child.pid as number };
      if (child.exitCode !== null || Date.now() - started > STARTUP_TIMEOUT_MS) {
        throw new Error(`the subgraphs did not start; see ${logPath}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * This gateway (dist/gateway/main.js) in front of the subgraphs; `env` adds to its settings,
   * `execArgv` goes to Node (say, --cpu-prof).
   */
  async startOurGateway(
    subgraphs: RunningSubgraphs,
    env: Record<string, string> = {},
    execArgv: string[] = [],
  ): Promise<BenchServer> {
    const port = await findFreePort();
    const budget = '100000000/60';
    const { child } = this.spawn('gateway', [...execArgv, join(dist, 'gateway/main.js')], {
      env: {
        ...subgraphs.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        GATEWAY_PORT: String(port),
        // Production requires one; the benchmark never reads /metrics or /health/all.
        OPERATOR_TOKEN: randomBytes(24).toString('hex'),
        REDIS_KEY_PREFIX: `${subgraphs.env.AUTH_DB_SCHEMA}:bench-gateway:`,
        AUTH_URL: subgraphs.subgraphs.auth,
        CONVERSATION_URL: subgraphs.subgraphs.conversation,
        CHAT_URL: subgraphs.subgraphs.chat,
        // Rate limits stay on (their Redis round trip is part of the cost) but never refuse here.
        RATE_LIMIT_OPERATIONS: budget,
        RATE_LIMIT_CHAT_SENDS: budget,
        RATE_LIMIT_AUTH_ATTEMPTS: budget,
        RATE_LIMIT_SUBSCRIPTIONS: budget,
        CONVERSATION_CREATION_BUDGET: budget,
        WS_CONNECTIONS_PER_ADDRESS: '100000',
        ...env,
      },
    });
    await waitForHttp('this gateway', `http://127.0.0.1:${port}/health`, { timeoutMs: STARTUP_TIMEOUT_MS });
    return { url: `http://127.0.0.1:${port}/graphql`, pid: child.pid as number };
  }

  /**
   * Hive Gateway on the committed supergraph, its subgraph URLs pointed at this run's subgraphs,
   * configured by bench/support/hive-gateway.config.ts to sign `identity` on every subgraph call.
   */
  async startHiveGateway(subgraphs: RunningSubgraphs, identity: Identity): Promise<BenchServer> {
    const port = await findFreePort();
    let supergraph = await readFile(join(root, 'schema/supergraph.graphql'), 'utf8');
    for (const [name, url] of Object.entries(subgraphs.subgraphs)) {
      supergraph = supergraph.replace(
        new RegExp(`(@join__graph\\(name: "${name}", url: )"[^"]*"`),
        `$1"${url}"`,
      );
    }
    const supergraphPath = join(this.workDir, 'supergraph.graphql');
    await writeFile(supergraphPath, supergraph);
    const bin = join(root, 'node_modules/@graphql-hive/gateway/dist/bin.js');
    const config = join(dist, 'bench/support/hive-gateway.config.js');
    const { child } = this.spawn(
      'hive-gateway',
      [bin, 'supergraph', supergraphPath, '-c', config, '--host', '127.0.0.1', '--port', String(port)],
      {
        env: {
          NODE_ENV: 'production',
          IDENTITY_SECRET: subgraphs.env.IDENTITY_SECRET,
          BENCH_IDENTITY: JSON.stringify(identity),
          BENCH_SUBGRAPHS: JSON.stringify(subgraphs.subgraphs),
          BENCH_SUPERGRAPH: supergraphPath,
        },
      },
    );
    await waitForHttp('Hive Gateway', `http://127.0.0.1:${port}/healthcheck`, {
      timeoutMs: STARTUP_TIMEOUT_MS,
    });
    return { url: `http://127.0.0.1:${port}/graphql`, pid: child.pid as number };
  }

  /** A Node server of the project in a process of its own; resolves once `healthUrl` answers. */
  async startNode(spec: NodeServerSpec): Promise<{ pid: number }> {
    const { script, execArgv } = nodeEntry(spec.entry);
    const { child, logPath } = this.spawn(spec.name, [...execArgv, ...(spec.execArgv ?? []), script], {
      env: spec.env,
    });
    await waitForHttp(spec.name, spec.healthUrl, {
      timeoutMs: STARTUP_TIMEOUT_MS,
      giveUpWhen: failWhenExits(child, spec.name, logPath),
    });
    return { pid: child.pid as number };
  }

  async stop(): Promise<void> {
    for (const child of this.children.reverse())
      await stopProcess(child, { signal: 'SIGTERM', timeoutMs: 10_000 });
    this.children.length = 0;
  }

  /** A Node script in a process of its own, its output appended to a log in the work directory. */
  private spawn(
    name: string,
    args: string[],
    options: { env?: Record<string, string>; stdin?: 'pipe' },
  ): { child: ChildProcess; logPath: string } {
    const logPath = join(this.workDir, `${name}.log`);
    const child = spawnLogged(process.execPath, args, { logPath, ...options });
    this.children.push(child);
    this.failures.push(failWhenExits(child, name, logPath));
    return { child, logPath };
  }
}
