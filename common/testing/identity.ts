import { IDENTITY_HEADER, type Role, signIdentity } from '../identity';
import { TEST_IDENTITY_SECRET } from './env';

export interface TestIdentityOptions {
  /** Who signs: `gateway` (a client's request) or a service calling directly. */
  issuer?: string;
  role?: Role | null;
  requestId?: string;
}

/**
 * The headers of a request signed with the test secret as if the gateway (or another service)
 * had verified `userId`: for calling one subgraph directly in tests.
 */
export function signedHeaders(
  userId: string | null,
  options: TestIdentityOptions = {},
): Record<string, string> {
  const identity = {
    userId,
    role: options.role === undefined ? (userId ? 'USER' : null) : options.role,
    sessionId: null,
    requestId: options.requestId ?? `test-${Date.now()}`,
    issuer: options.issuer ?? 'gateway',
  } as const;
  return { [IDENTITY_HEADER]: signIdentity(identity, TEST_IDENTITY_SECRET) };
}
