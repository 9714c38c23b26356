import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/errors';
import type { Role } from './roles';

/**
 * The caller as verified by the gateway (or a service acting on its behalf), carried to
 * subgraphs in the signed identity header. Wire format: docs/protocol.md#signed-identity.
 */
export interface Identity {
  /** The user id, or null for an anonymous caller (register, login, ...). */
  userId: string | null;
  role: Role | null;
  sessionId: string | null;
  requestId: string;
  /** The service that signed it: `gateway`, or a subgraph calling another. */
  issuer: string;
  /** The client's network address as the gateway saw it (login throttling); absent on service calls. */
  clientAddress?: string;
  /** The client's User-Agent header, for the session list; absent when the client sent none. */
  userAgent?: string;
}

export { IDENTITY_HEADER } from './identity-header';
const VERSION = 'v2';
/** How long a signed header is good for: it is signed just before it is sent, and used once. */
export const IDENTITY_LIFETIME_MS = 30_000;
/** The longest lifetime a verifier accepts, whatever a signer wrote. */
export const IDENTITY_MAX_LIFETIME_MS = 60_000;
/** How far apart the services' clocks may be. */
export const IDENTITY_CLOCK_SKEW_MS = 5_000;

/**
 * What one header authorises, to be recomputed by the verifier: a digest (base64url SHA-256) of
 * the operation it was signed for, or of the graphql-ws connection it opens.
 */
export interface IdentityBinding {
  /** The subgraph the header is for (its name in the supergraph). */
  audience: string;
  digest: string;
}

/** The members of a GraphQL request the digest covers, as sent in the JSON body or subscribe payload. */
export interface SignedOperation {
  query?: string | null;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * The digest of an operation: SHA-256 of `JSON.stringify(["operation", query, operationName,
 * variables])`, a missing member as null. JSON.stringify of a parsed JSON text gives back the same
 * text, so the verifier recomputes it from the request as received, member order included.
 */
export const operationDigest = (operation: SignedOperation): string =>
  sha256(
    JSON.stringify([
      'operation',
      operation.query ?? null,
      operation.operationName ?? null,
      operation.variables ?? null,
    ]),
  );

/** The digest of a graphql-ws connection (its `connection_init`), which carries a service identity. */
export const CONNECTION_DIGEST = sha256(JSON.stringify(['connection']));

interface WirePayload {
  sub: string | null;
  role: Role | null;
  sid: string | null;
  rid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  dig: string;
  ip?: string;
  ua?: string;
}

const mac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('base64url');

/** Signs `identity` for one request to one subgraph: fresh nonce, short lifetime. */
export function signIdentity(
  identity: Identity,
  secret: string,
  binding: IdentityBinding,
  now = Date.now(),
): string {
  const payload: WirePayload = {
    sub: identity.userId,
    role: identity.role,
    sid: identity.sessionId,
    rid: identity.requestId,
    iss: identity.issuer,
    aud: binding.audience,
    iat: now,
    exp: now + IDENTITY_LIFETIME_MS,
    jti: randomBytes(16).toString('base64url'),
    dig: binding.digest,
    ...(identity.clientAddress === undefined ? {} : { ip: identity.clientAddress }),
    ...(identity.userAgent === undefined ? {} : { ua: identity.userAgent }),
  };
  const body = `${VERSION}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${mac(secret, body)}`;
}

/** The identity the gateway signs for a graphql-ws connection to a subgraph: no user, the gateway's own. */
export const serviceIdentity = (issuer: string): Identity => ({
  userId: null,
  role: null,
  sessionId: null,
  requestId: issuer,
  issuer,
});

/** A header that passed every check but the nonce's: the caller still has to claim the nonce. */
export interface VerifiedIdentity {
  identity: Identity;
  nonce: string;
  /** When the header stops being accepted, on the verifier's clock: the nonce must be kept until then. */
  acceptedUntil: number;
}

const isOptionalString = (value: unknown) => value === undefined || typeof value === 'string';
const NONCE = /^[\w-]{16,64}$/;

export const invalidIdentity = () => new AppError('UNAUTHENTICATED', 'Missing or invalid gateway identity');

/**
 * Checks a signed identity header against what the request is (its audience and digest) and the
 * clock; any defect is the same vague UNAUTHENTICATED error. The nonce is not checked here (it
 * needs the shared store): see common/identity/identity-verifier.ts.
 */
export function verifyIdentity(
  header: string | undefined,
  secret: string,
  expected: IdentityBinding,
  now = Date.now(),
): VerifiedIdentity {
  if (!header) throw invalidIdentity();
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw invalidIdentity();
  const body = `${parts[0]}.${parts[1]}`;
  const wanted = Buffer.from(mac(secret, body));
  const given = Buffer.from(parts[2]);
  if (wanted.length !== given.length || !timingSafeEqual(wanted, given)) throw invalidIdentity();
  let payload: WirePayload;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as WirePayload;
  } catch {
    throw invalidIdentity();
  }
  if (typeof payload !== 'object' || payload === null) throw invalidIdentity();
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number') throw invalidIdentity();
  if (exp < iat || exp - iat > IDENTITY_MAX_LIFETIME_MS) throw invalidIdentity();
  if (now < iat - IDENTITY_CLOCK_SKEW_MS || now > exp + IDENTITY_CLOCK_SKEW_MS) throw invalidIdentity();
  if (payload.aud !== expected.audience || payload.dig !== expected.digest) throw invalidIdentity();
  if (typeof payload.jti !== 'string' || !NONCE.test(payload.jti)) throw invalidIdentity();
  if (typeof payload.rid !== 'string' || typeof payload.iss !== 'string') throw invalidIdentity();
  if (payload.sub !== null && typeof payload.sub !== 'string') throw invalidIdentity();
  if (payload.role !== null && payload.role !== 'USER' && payload.role !== 'ADMIN') throw invalidIdentity();
  if (!isOptionalString(payload.ip) || !isOptionalString(payload.ua)) throw invalidIdentity();
  return {
    identity: {
      userId: payload.sub,
      role: payload.role,
      sessionId: typeof payload.sid === 'string' ? payload.sid : null,
      requestId: payload.rid,
      issuer: payload.iss,
      ...(payload.ip === undefined ? {} : { clientAddress: payload.ip }),
      ...(payload.ua === undefined ? {} : { userAgent: payload.ua }),
    },
    nonce: payload.jti,
    acceptedUntil: exp + IDENTITY_CLOCK_SKEW_MS,
  };
}
