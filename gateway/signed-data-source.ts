import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { propagation } from '@opentelemetry/api';
import { GraphQLError } from 'graphql';
import type { Agent as HttpAgent } from 'node:http';
import { toGraphQLError, upstreamUnavailable } from '../common/errors/errors';
import { keepAliveAgent } from '../common/http/keep-alive-agent';
import { postOverAgent, type PostResponse, PostTimeoutError } from '../common/http/post-request';
import { IDENTITY_HEADER, type Identity, operationDigest, signIdentity } from '../common/identity/identity';
import { REQUEST_ID_HEADER } from '../common/server/request-id';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';
import type { GatewayContext } from './context';
import { outgoingTraceContext } from './trace-context';

/** Used for the gateway's own calls that belong to no client request (composition in development). */
const gatewayIdentity = (): Identity => ({
  userId: null,
  role: null,
  sessionId: null,
  requestId: 'gateway',
  issuer: 'gateway',
});

/** One subgraph request as the gateway saw it, for metrics. */
export interface SubgraphFetch {
  subgraph: string;
  durationSeconds: number;
  outcome: 'ok' | 'errors' | 'failed';
}

export interface SubgraphConnectionOptions {
  /** The subgraph's name: the audience of the identity it is sent, and for errors and metrics; the URL's host when not given. */
  name?: string;
  /** A request that has not answered by then is aborted and fails with UPSTREAM_UNAVAILABLE. */
  timeoutMs?: number;
  /** Kept-alive connections to the subgraph; requests beyond wait for one. */
  maxSockets?: number;
  onFetch?: (fetch: SubgraphFetch) => void;
  /** Retries of a read whose subgraph could not be reached; mutations are never retried. */
  retry?: Partial<RetryPolicy>;
  /** The subgraph's circuit; one of its own (with the default settings) when not given. */
  breaker?: CircuitBreaker;
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** The first retry waits up to this long, each next one up to twice as long as the one before. */
  baseDelayMs: number;
  /** No retry waits longer. */
  maxDelayMs: number;
}

export const DEFAULT_SUBGRAPH_CONNECTION = { timeoutMs: 10_000, maxSockets: 128 };
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 2, baseDelayMs: 50, maxDelayMs: 1000 };

/**
 * Exponential backoff with full jitter, so that gateways retrying together do not arrive together:
 * anywhere from 0 to base × 2^attempt, capped at maxDelayMs. `random` is Math.random but in tests.
 */
export const backoffMs = (policy: RetryPolicy, attempt: number, random: () => number = Math.random) =>
  random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);

/**
 * Only reads are retried: the fetches of a query or of a subscription's events (entity fetches
 * included). A fetch made for a mutation may have reached the subgraph before its connection failed.
 */
const isRead = (options: GraphQLDataSourceProcessOptions<GatewayContext>) =>
  'incomingRequestContext' in options &&
  ['query', 'subscription'].includes(options.incomingRequestContext.operation?.operation ?? 'mutation');

type SubgraphAnswer = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** HTTP statuses with which a proxy or load balancer in front of a subgraph says it cannot reach it. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

interface FailedResponse {
  status?: number;
  body?: { errors?: { extensions?: { code?: unknown; dependency?: unknown } }[] };
}

/** The error for a non-2xx answer carries the status and body in `extensions.response`, as Apollo's own data source's does. */
const failedResponseOf = (error: GraphQLError) => error.extensions.response as FailedResponse | undefined;

const answeredUnavailable = (error: GraphQLError) =>
  UNAVAILABLE_STATUSES.has(failedResponseOf(error)?.status ?? 0);

const timedOut = (error: unknown) => error instanceof PostTimeoutError;

const isJson = (contentType: string | undefined) =>
  contentType !== undefined &&
  (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json'));

/** The body as Apollo's RemoteGraphQLDataSource reads it: JSON when it says so, text otherwise. */
const parsedBody = (response: PostResponse): unknown =>
  isJson(response.contentType) ? JSON.parse(response.body) : response.body;

/** A non-2xx answer, as the error Apollo's RemoteGraphQLDataSource raises for it. */
function answerError(url: string, response: PostResponse): GraphQLError {
  const code =
    response.status === 401 ? 'UNAUTHENTICATED' : response.status === 403 ? 'FORBIDDEN' : undefined;
  return new GraphQLError(`${response.status}: ${response.statusText}`, {
    extensions: {
      response: { url, status: response.status, statusText: response.statusText, body: parsedBody(response) },
      ...(code ? { code } : {}),
    },
  });
}

/**
 * The store a subgraph itself named when it refused with 503 UPSTREAM_UNAVAILABLE (it cannot check
 * a signed identity's nonce without Redis, say): the client learns that store, not the subgraph.
 */
function dependencyNamedBy(error: unknown): string | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const extensions = failedResponseOf(error)?.body?.errors?.[0]?.extensions;
  const dependency = extensions?.code === 'UPSTREAM_UNAVAILABLE' ? extensions.dependency : undefined;
  return typeof dependency === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(dependency) ? dependency : undefined;
}

/**
 * Every request to a subgraph (operations and entity fetches alike) carries the caller's
 * identity signed with the shared secret for that subgraph and that operation (and used once);
 * subgraphs refuse requests without it. It also carries the request id and the W3C trace
 * context, over kept-alive connections, within a timeout.
 */
export class SignedDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly subgraph: string;
  private readonly agent: HttpAgent;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly url: string,
    private readonly identitySecret: string,
    private readonly connection: SubgraphConnectionOptions = {},
  ) {
    const { timeoutMs, maxSockets } = { ...DEFAULT_SUBGRAPH_CONNECTION, ...connection };
    this.agent = keepAliveAgent(url, maxSockets);
    this.timeoutMs = timeoutMs;
    this.subgraph = connection.name ?? new URL(url).host;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...connection.retry };
    this.breaker = connection.breaker ?? new CircuitBreaker();
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** Closes the kept-alive connections, once no request is left to send. */
  close(): void {
    this.agent.destroy();
  }

  /** The request's headers: its signed identity (bound to `body`'s operation), request id and trace. */
  private headersFor({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const { identity = gatewayIdentity(), traceHeaders } = context as Partial<GatewayContext>;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // Apollo adds headers of its own only to ask for traces (ftv1); they go along.
    for (const [name, value] of request.http?.headers ?? []) headers[name] = value;
    const binding = { audience: this.subgraph, digest: operationDigest(request) };
    headers[IDENTITY_HEADER] = signIdentity(identity, this.identitySecret, binding);
    headers[REQUEST_ID_HEADER] = identity.requestId;
    propagation.inject(outgoingTraceContext(traceHeaders), headers);
    return headers;
  }

  /** One POST of the operation, answered as Apollo's RemoteGraphQLDataSource would answer it. */
  private async post(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphAnswer> {
    const { query, operationName, variables, extensions } = options.request;
    if (!query) throw new Error('Missing query');
    const body = JSON.stringify({ query, operationName, variables, extensions });
    const response = await postOverAgent(
      this.url,
      this.agent,
      this.headersFor(options),
      body,
      this.timeoutMs,
    );
    if (response.status < 200 || response.status > 299) throw answerError(this.url, response);
    const answer = parsedBody(response);
    if (typeof answer !== 'object' || answer === null) {
      throw new Error(`Expected JSON response body, but received: ${response.body.slice(0, 200)}`);
    }
    return answer as SubgraphAnswer;
  }

  /**
   * Sends the request through the subgraph's circuit: while it is open the request fails at once
   * with UPSTREAM_UNAVAILABLE. The circuit counts requests, not attempts: one whose retries all
   * failed to reach the subgraph is one failure, so that a burst of retried requests does not open it.
   */
  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphAnswer> {
    if (!this.breaker.tryAcquire()) throw toGraphQLError(upstreamUnavailable(this.subgraph));
    try {
      const response = await this.sendWithRetries(options);
      this.breaker.succeeded();
      return response;
    } catch (error) {
      if (!(error instanceof SubgraphFailure)) {
        // The subgraph answered, with an error of its own: it is up.
        this.breaker.succeeded();
        throw error;
      }
      if (error.reachedSubgraph) this.breaker.succeeded();
      else this.breaker.failed();
      throw error.answer;
    }
  }

  /**
   * A read that failed for a passing reason (the subgraph refused or reset the connection, a proxy
   * answered 502/503/504, or the subgraph named a store of its own as down) is sent again after a
   * backoff, unless the circuit opened meanwhile; a timeout is not, as its wait is already spent.
   */
  private async sendWithRetries(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const retries = isRead(options) ? this.retry.retries : 0;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.send(options);
      } catch (error) {
        const again =
          error instanceof SubgraphFailure &&
          error.transient &&
          attempt < retries &&
          this.breaker.state !== 'open';
        if (!again) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoffMs(this.retry, attempt)));
      }
    }
  }

  /** One attempt, observed for metrics. */
  private async send(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const started = performance.now();
    const observe = (outcome: SubgraphFetch['outcome']) =>
      this.connection.onFetch?.({
        subgraph: this.subgraph,
        durationSeconds: (performance.now() - started) / 1000,
        outcome,
      });
    try {
      const response = await this.post(options);
      observe(response.errors ? 'errors' : 'ok');
      return response;
    } catch (error) {
      observe('failed');
      if (error instanceof GraphQLError && !answeredUnavailable(error)) throw error;
      const named = dependencyNamedBy(error);
      // Refused, reset, timed out, or a proxy in front of it said it is down: the client learns
      // which dependency, never the socket's details.
      const answer = toGraphQLError(
        upstreamUnavailable(named ?? this.subgraph),
        error instanceof Error ? error : undefined,
      );
      throw new SubgraphFailure(answer, {
        reachedSubgraph: named !== undefined,
        transient: !timedOut(error),
      });
    }
  }
}

/** A subgraph request that failed with UPSTREAM_UNAVAILABLE: `answer` is what the client gets. */
class SubgraphFailure extends Error {
  /** The subgraph answered (naming a store of its own as down): it is up, for its circuit. */
  readonly reachedSubgraph: boolean;
  /** Worth another attempt: not a timeout. */
  readonly transient: boolean;

  constructor(
    readonly answer: GraphQLError,
    kind: { reachedSubgraph: boolean; transient: boolean },
  ) {
    super(answer.message);
    this.reachedSubgraph = kind.reachedSubgraph;
    this.transient = kind.transient;
  }
}
