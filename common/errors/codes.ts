/**
 * Every code a client can see in `extensions.code`, once: the contract docs/errors.md states (a test
 * checks that page against this table). It imports nothing, so a client can read it too.
 */

export interface ErrorCodeEntry {
  /**
   * `platform`: a code of this platform's own, thrown by services and the gateway. `framework`: one
   * graphql-js or Apollo Server produces, passed through unchanged (and written by the gateway's
   * streaming transports where they answer what Apollo would answer over HTTP).
   */
  origin: 'platform' | 'framework';
  /** The HTTP status of a response that this error ends before execution. */
  status: number;
  /** Whether the same request may succeed later, unchanged (after `retryAfter` seconds when given). */
  retryable: boolean;
  /** What it means to a client, for docs/errors.md. */
  meaning: string;
}

export const ERROR_CODES = {
  BAD_USER_INPUT: {
    origin: 'platform',
    status: 400,
    retryable: false,
    meaning: 'An argument or variable is not acceptable; `field` names it when there is one.',
  },
  UNAUTHENTICATED: {
    origin: 'platform',
    status: 401,
    retryable: false,
    meaning:
      'No valid access token, or its session has ended: refresh the token or sign in again. Deliberately vague.',
  },
  FORBIDDEN: {
    origin: 'platform',
    status: 403,
    retryable: false,
    meaning: 'The caller is known but may not do this.',
  },
  NOT_FOUND: {
    origin: 'platform',
    status: 404,
    retryable: false,
    meaning:
      'What the operation names does not exist, or is not the caller’s to see; also an HTTP path with no route.',
  },
  RATE_LIMITED: {
    origin: 'platform',
    status: 429,
    retryable: true,
    meaning:
      'Too many requests of this kind for now; try again after `retryAfter` seconds (`limit` names the budget).',
  },
  QUOTA_EXCEEDED: {
    origin: 'platform',
    status: 429,
    retryable: false,
    meaning:
      'A bound on what the caller holds or spends (open connections or subscriptions, concurrent generations, daily tokens); `quota` or `limit` names it. Retrying the same request does not help until something is released or the quota resets.',
  },
  UPSTREAM_UNAVAILABLE: {
    origin: 'platform',
    status: 503,
    retryable: true,
    meaning:
      'A store or subgraph, named in `dependency`, cannot be reached now; try again after `retryAfter` seconds. Never the client’s fault.',
  },
  SUPERGRAPH_CHANGED: {
    origin: 'platform',
    status: 503,
    retryable: true,
    meaning:
      'The gateway began serving a new supergraph in which this open subscription no longer validates, or selects a field its caller may no longer see, and ended it. Subscribe again (with `after` to resume a generation): it runs against the new schema, or is refused (`GRAPHQL_VALIDATION_FAILED`, `UNAUTHENTICATED`, `FORBIDDEN`) if it is not served any more.',
  },
  INTERNAL: {
    origin: 'platform',
    status: 500,
    retryable: false,
    meaning:
      'An unexpected failure, masked: the detail is in the log under the `requestId` the error carries.',
  },
  BAD_REQUEST: {
    origin: 'framework',
    status: 400,
    retryable: false,
    meaning:
      'The request itself cannot be served: a body that is not JSON (400), too large (413) or not UTF-8 JSON (415), an operation past a bound named by `limit` and `max`, or a subscription sent where it cannot stream (406; `protocols` names the ones to use).',
  },
  GRAPHQL_PARSE_FAILED: {
    origin: 'framework',
    status: 400,
    retryable: false,
    meaning: 'The document is not valid GraphQL syntax.',
  },
  GRAPHQL_VALIDATION_FAILED: {
    origin: 'framework',
    status: 400,
    retryable: false,
    meaning: 'The document does not validate against the API schema.',
  },
  OPERATION_RESOLUTION_FAILURE: {
    origin: 'framework',
    status: 400,
    retryable: false,
    meaning:
      'The operation to run cannot be picked out of the document: an unknown `operationName`, or several operations and none named.',
  },
  PERSISTED_QUERY_NOT_FOUND: {
    origin: 'framework',
    status: 200,
    retryable: false,
    meaning: 'The gateway does not know this persisted-query hash: send the request again with its `query`.',
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    origin: 'framework',
    status: 200,
    retryable: false,
    meaning: 'Automatic persisted queries are off on this gateway: send the `query` itself.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** The HTTP status of a response that an error with this code ends before execution. */
export const httpStatusOf = (code: ErrorCode): number => ERROR_CODES[code].status;
