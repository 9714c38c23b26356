import { setTimeout as delay } from 'node:timers/promises';
import type { GraphQLError } from 'graphql';
import { AppError, toGraphQLError } from '../errors/errors';
import { env } from '../config/load-config';

/** Every service's shutdown settings (docs/scaling.md, "Shutdown and rolling restarts"). */
export const shutdownEnv = {
  /**
   * How long a stopping process keeps serving with its readiness failing (`/health` 503) before it
   * closes its port and its streams, so that load balancers have stopped sending it new work. None
   * by default (a load balancer that retries a refused connection elsewhere, as HAProxy does, needs
   * none); the replica harness and the Kubernetes manifests set it.
   */
  SHUTDOWN_DELAY_MS: env.int(0, 0),
  /** The longest a stop may take from the signal; past it the process exits at once (below Kubernetes' 30 s). */
  SHUTDOWN_TIMEOUT_MS: env.int(25_000, 1),
};

/** WebSocket's "Service Restart": the server is going away, a new connection (to another replica) will work. */
export const SERVICE_RESTART_CLOSE_CODE = 1012;

/** What a stream still open at shutdown ends with over SSE and multipart: retryable, so the client resumes elsewhere. */
export const serviceRestarting = (service: string): AppError =>
  new AppError('UPSTREAM_UNAVAILABLE', `The ${service} is restarting; reconnect to resume`, {
    dependency: service,
    retryAfter: 0,
  });

/** One open stream's watch on the shutdown: `ended` settles when it must end; `stop` once it is over. */
export interface ShutdownWatch {
  ended: Promise<GraphQLError>;
  stop: () => void;
}

/**
 * A process's way out, in two steps: `isDraining` from the signal on (readiness fails), then,
 * `delayMs` later, once load balancers have stopped sending it new work, the open streams' watches
 * end (each closes with a retryable error) and the service's own stop runs (its port closes,
 * in-flight requests finish).
 */
export class GracefulShutdown {
  private draining = false;
  private streamsEnded = false;
  /** One per open stream, forgotten when it ends: a promise shared by all would keep a reaction per stream ever opened. */
  private readonly watches = new Set<() => void>();
  private stopped: Promise<void> | undefined;

  constructor(private readonly delayMs: number) {}

  /** True from the start of the stop: `/health` answers 503 so the load balancer takes the process out. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Watches the shutdown for one stream of `service`; its `ended` settles with the retryable error it ends with. */
  watchStream(service: string): ShutdownWatch {
    let end!: () => void;
    const ended = new Promise<GraphQLError>((resolve) => {
      end = () => resolve(toGraphQLError(serviceRestarting(service)));
    });
    if (this.streamsEnded) end();
    else this.watches.add(end);
    return { ended, stop: () => void this.watches.delete(end) };
  }

  /** Fails readiness, waits `delayMs`, ends the streams, then runs `stop`. Idempotent. */
  run(stop: () => Promise<void>): Promise<void> {
    this.stopped ??= (async () => {
      this.draining = true;
      await delay(this.delayMs);
      this.streamsEnded = true;
      for (const end of this.watches) end();
      this.watches.clear();
      await stop();
    })();
    return this.stopped;
  }
}
