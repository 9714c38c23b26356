import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { projectRoot } from '../../common/config/paths';
import { SUBGRAPHS } from '../../common/config/topology';
import { type Backend, type RunningHaproxy, startHaproxy } from './haproxy';
import { findFreePort } from './ports';
import { exited, failWhenExits } from './processes';
import {
  type CodeForm,
  entryPoint,
  PLATFORM_SERVICES,
  type PlatformService,
  type PlatformServiceName,
} from './services';
import { Supervisor, type SupervisorOptions } from './supervisor';
import { waitForHttp, waitUntil } from './wait';

export interface ReplicaSetOptions {
  /** How many processes of each service. */
  replicas: number;
  /** Every process's environment: the data stores' URLs, IDENTITY_SECRET, any other setting. */
  env: NodeJS.ProcessEnv;
  /** Added to one service's environment (e.g. its REDIS_KEY_PREFIX). */
  serviceEnv?: Partial<Record<PlatformServiceName, NodeJS.ProcessEnv>>;
  /** HAProxy's port for each service; a free one where none is given. */
  frontendPorts?: Partial<Record<PlatformServiceName, number>>;
  /** Where HAProxy's configuration and log are written. */
  workDir: string;
  code?: CodeForm;
  /** Runs the processes (and prefixes their output); one of its own, with these options, if not given. */
  supervisor?: Supervisor;
  output?: Pick<SupervisorOptions, 'stdout' | 'stderr' | 'colours'>;
  /** How long a process may take to answer GET /health. */
  startTimeoutMs?: number;
}

export interface Replica {
  service: PlatformServiceName;
  /** `auth-1`, `auth-2`, …: its name in the logs and in HAProxy. */
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>`: the process itself, past HAProxy. */
  origin: string;
  /** The running process's id; undefined while it is stopped. */
  readonly pid: number | undefined;
}

/** How a replica's process ended: its exit code (null when a signal ended it), the signal, and when. */
export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal sent to the process's exit. */
  ms: number;
}

export interface ReplicaSet {
  /** HAProxy's address for each service, e.g. `http://127.0.0.1:4000`. */
  frontends: Record<PlatformServiceName, string>;
  /** The gateway's GraphQL endpoint, through HAProxy. */
  gatewayUrl: string;
  /** HAProxy's stats page. */
  statsUrl: string;
  replicas: Replica[];
  /** The `index`th (from 1) replica of a service. */
  replica(service: PlatformServiceName, index: number): Replica;
  /**
   * Signals one replica (SIGKILL: a crash; SIGTERM: a graceful stop) and waits until it has exited;
   * resolves with how it exited and how long that took (undefined when it was not running).
   */
  kill(replica: Replica, signal?: NodeJS.Signals): Promise<ReplicaExit | undefined>;
  /** Starts a stopped replica again on its port; resolves once it is healthy and HAProxy uses it. */
  restart(replica: Replica): Promise<void>;
  /** HAProxy's view of every replica, by name: `UP`, `DOWN`, `UP 1/2` (going down), … */
  serverStatus(): Promise<Record<string, string>>;
  /** Waits until HAProxy reports this replica `UP` (sends it traffic) or `DOWN`. */
  waitForStatus(replica: Replica, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** Stops every process (gateways first), then HAProxy. */
  stop(): Promise<void>;
}

interface ManagedReplica extends Replica {
  child?: ChildProcess;
  spec: { name: string; script: string; execArgv: string[]; env: NodeJS.ProcessEnv };
}

/** HAProxy takes a server out after two failed checks half a second apart (scripts/platform/haproxy.ts). */
const SHUTDOWN_DELAY_MS = 1_500;

const START_WAVES: PlatformServiceName[][] = [['auth', 'conversation'], ['chat'], ['gateway']];

const isRunning = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

/**
 * N processes of each service on ports of their own behind one HAProxy, as on N machines behind a
 * load balancer: the gateways reach each subgraph (and chat reaches conversation) through HAProxy's
 * frontend for it, so every call is balanced over the replicas. The data stores are the caller's
 * (their URLs in `env`). Each process is waited for on its /health before the services that call it
 * start; the set is returned once HAProxy reports every replica up.
 */
export async function startReplicaSet(options: ReplicaSetOptions): Promise<ReplicaSet> {
  const { replicas: count, workDir, code = 'dist', startTimeoutMs = 60_000 } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`replicas must be a whole number ≥ 1, got ${count}`);
  await mkdir(workDir, { recursive: true });
  const root = projectRoot();
  const supervisor = options.supervisor ?? new Supervisor(options.output);

  const frontendPorts = {} as Record<PlatformServiceName, number>;
  for (const { name } of PLATFORM_SERVICES)
    frontendPorts[name] = options.frontendPorts?.[name] ?? (await findFreePort());
  const frontends = Object.fromEntries(
    PLATFORM_SERVICES.map(({ name }) => [name, `http://127.0.0.1:${frontendPorts[name]}`]),
  ) as Record<PlatformServiceName, string>;
  const topology = Object.fromEntries(SUBGRAPHS.map((s) => [s.urlVariable, `${frontends[s.name]}/graphql`]));

  const managed: ManagedReplica[] = [];
  const replicaOf = async (service: PlatformService, index: number): Promise<ManagedReplica> => {
    const port = await findFreePort();
    const name = `${service.name}-${index}`;
    const env: NodeJS.ProcessEnv = {
      // The gateways see clients through HAProxy, whose X-Forwarded-For they may then trust.
      ...(service.name === 'gateway' ? { TRUSTED_PROXIES: '127.0.0.1' } : {}),
      // A stopping process fails its health check for longer than HAProxy takes to notice (two checks 500 ms apart).
      SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      ...options.env,
      ...options.serviceEnv?.[service.name],
      ...topology,
      [service.portVariable]: String(port),
    };
    const replica: ManagedReplica = {
      service: service.name,
      name,
      port,
      origin: `http://127.0.0.1:${port}`,
      get pid() {
        return isRunning(replica.child) ? replica.child.pid : undefined;
      },
      spec: { name, env, ...entryPoint(root, service, code) },
    };
    return replica;
  };
  for (const service of PLATFORM_SERVICES)
    for (let index = 1; index <= count; index += 1) managed.push(await replicaOf(service, index));

  const backends: Backend[] = PLATFORM_SERVICES.map(({ name }) => ({
    name,
    port: frontendPorts[name],
    servers: managed.filter((r) => r.service === name).map((r) => ({ name: r.name, port: r.port })),
  }));

  /** Starts one replica's process and waits for its /health, failing at once if it exits. */
  const launch = async (replica: ManagedReplica) => {
    const child = supervisor.start(replica.spec);
    replica.child = child;
    const health = `${replica.origin}/health`;
    const exit = failWhenExits(child, replica.name).catch((error: Error) => {
      throw new Error(`${error.message} before answering ${health} (its output is above)`);
    });
    await waitForHttp(replica.name, health, { timeoutMs: startTimeoutMs, giveUpWhen: exit });
  };

  let haproxy: RunningHaproxy | undefined;
  const waitForStatus = (replica: Replica, status: 'UP' | 'DOWN', timeoutMs = 10_000) =>
    waitUntil(
      `HAProxy to report ${replica.name} ${status}`,
      async () => {
        const reported = (await (haproxy as RunningHaproxy).serverStatus())[replica.name];
        if (reported !== status) throw new Error(`${replica.name} is ${reported}`);
      },
      { timeoutMs },
    );
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await supervisor.stopAll();
      await haproxy?.stop();
    })());

  try {
    haproxy = await startHaproxy(backends, workDir);
    // In the order they call each other: chat calls conversation as it starts, the gateways everyone.
    for (const wave of START_WAVES)
      await Promise.all(managed.filter((r) => wave.includes(r.service)).map(launch));
    await Promise.all(managed.map((replica) => waitForStatus(replica, 'UP')));
  } catch (error) {
    await stop();
    throw error;
  }

  const byName = (name: string): ManagedReplica => {
    const found = managed.find((r) => r.name === name);
    if (!found) throw new Error(`no replica ${name}`);
    return found;
  };
  const find = (replica: Replica) => byName(replica.name);
  return {
    frontends,
    gatewayUrl: `${frontends.gateway}/graphql`,
    statsUrl: haproxy.statsUrl,
    replicas: managed,
    replica: (service, index) => byName(`${service}-${index}`),
    kill: async (replica, signal = 'SIGKILL') => {
      const { child } = find(replica);
      if (!isRunning(child)) return undefined;
      const done = exited(child);
      const sentAt = Date.now();
      child.kill(signal);
      await done;
      return { code: child.exitCode, signal: child.signalCode, ms: Date.now() - sentAt };
    },
    restart: async (replica) => {
      const found = find(replica);
      if (isRunning(found.child)) throw new Error(`${found.name} is running (pid ${found.child.pid})`);
      await launch(found);
      await waitForStatus(found, 'UP');
    },
    serverStatus: () => (haproxy as RunningHaproxy).serverStatus(),
    waitForStatus,
    stop,
  };
}
