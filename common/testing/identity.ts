import {
  CONNECTION_DIGEST,
  IDENTITY_HEADER,
  type Identity,
  operationDigest,
  serviceIdentity,
  type SignedOperation,
  signIdentity,
} from '../identity/identity';
import type { Role } from '../identity/roles';
import { TEST_IDENTITY_SECRET } from './env';

export interface TestIdentityOptions {
  /** Who signs: `gateway` (a client's request) or a service calling directly. */
  issuer?: string;
  role?: Role | null;
  requestId?: string;
}

/** The operation a header is signed for, and the subgraph it goes to. */
export interface SignedRequest extends SignedOperation {
  audience: string;
}

/** The identity the gateway would verify for `userId` (null: anonymous). */
export const testIdentity = (userId: string | null, options: TestIdentityOptions = {}): Identity => ({
  userId,
  role: options.role === undefined ? (userId ? 'USER' : null) : options.role,
  sessionId: null,
  requestId: options.requestId ?? `test-${Date.now()}`,
  issuer: options.issuer ?? 'gateway',
});

/** An identity header signed with the test secret for one request (one use). */
export const signedIdentity = (
  userId: string | null,
  { audience, ...operation }: SignedRequest,
  options: TestIdentityOptions = {},
): string =>
  signIdentity(testIdentity(userId, options), TEST_IDENTITY_SECRET, {
    audience,
    digest: operationDigest(operation),
  });

/**
 * The headers of a request signed with the test secret as if the gateway (or another service)
 * had verified `userId`, for exactly this operation to this subgraph: for calling one subgraph
 * directly in tests. Each call signs afresh (a header is accepted once).
 */
export const signedHeaders = (
  userId: string | null,
  request: SignedRequest,
  options: TestIdentityOptions = {},
): Record<string, string> => ({ [IDENTITY_HEADER]: signedIdentity(userId, request, options) });

/** The `connection_init` payload the gateway sends a subgraph's graphql-ws endpoint. */
export const serviceConnectionParams = (audience: string): Record<string, string> => ({
  [IDENTITY_HEADER]: signIdentity(serviceIdentity('gateway'), TEST_IDENTITY_SECRET, {
    audience,
    digest: CONNECTION_DIGEST,
  }),
});

/**
 * Who signed a request's identity header (`gateway`, `chat`…), read without checking the signature:
 * for tests that count the requests one caller sends a subgraph while other callers work beside it.
 */
export const identityIssuer = (header: string | string[] | undefined): string | undefined => {
  const payload = typeof header === 'string' ? header.split('.')[1] : undefined;
  if (!payload) return undefined;
  try {
    return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string }).iss;
  } catch {
    return undefined;
  }
};
