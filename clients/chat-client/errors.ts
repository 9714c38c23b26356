/** One error of a GraphQL response, as the platform formats it. */
export interface ResponseError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; field?: string; retryAfter?: number; requestId?: string } & Record<
    string,
    unknown
  >;
}

/**
 * A GraphQL response that carried errors. `code` is the first error's `extensions.code`
 * (`UNAUTHENTICATED`, `BAD_USER_INPUT`, `RATE_LIMITED`…): branch on it, not on the message.
 */
export class GraphQLRequestError extends Error {
  override name = 'GraphQLRequestError';
  readonly code: string | undefined;

  constructor(
    readonly operationName: string,
    readonly errors: readonly ResponseError[],
    /** The HTTP status; absent for errors that came over a WebSocket. */
    readonly status?: number,
  ) {
    super(`${operationName}: ${errors.map((e) => e.message).join('; ') || `HTTP ${String(status)}`}`);
    this.code = errors[0]?.extensions?.code;
  }
}

/** The client has no tokens (never signed in, signed out, or its session ended). */
export class SignedOutError extends Error {
  override name = 'SignedOutError';
  constructor() {
    super('Not signed in: register or log in first');
  }
}

/** A subscription's WebSocket closed and could not be resumed within the allowed reconnects. */
export class StreamDisconnectedError extends Error {
  override name = 'StreamDisconnectedError';
  constructor(
    readonly closeCode: number | undefined,
    readonly reason: string,
  ) {
    super(`The event stream disconnected${closeCode === undefined ? '' : ` (${closeCode})`}: ${reason}`);
  }
}

export const isUnauthenticated = (error: unknown): boolean =>
  error instanceof GraphQLRequestError && error.code === 'UNAUTHENTICATED';
