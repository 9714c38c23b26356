import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from './errors';

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

export type Role = 'USER' | 'ADMIN';

export const IDENTITY_HEADER = 'x-identity';
const VERSION = 'v1';
/** How old (or how far in the future) a signature may be; bounds replay of a captured header. */
export const IDENTITY_MAX_AGE_MS = 60_000;

interface WirePayload {
  sub: string | null;
  role: Role | null;
  sid: string | null;
  rid: string;
  iss: string;
  iat: number;
  ip?: string;
  ua?: string;
}

const mac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('base64url');

export function signIdentity(identity: Identity, secret: string, now = Date.now()): string {
  const payload: WirePayload = {
    sub: identity.userId,
    role: identity.role,
    sid: identity.sessionId,
    rid: identity.requestId,
    iss: identity.issuer,
    iat: now,
    ...(identity.clientAddress === undefined ? {} : { ip: identity.clientAddress }),
    ...(identity.userAgent === undefined ? {} : { ua: identity.userAgent }),
  };
  const body = `${VERSION}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${mac(secret, body)}`;
}

const isOptionalString = (value: unknown) => value === undefined || typeof value === 'string';

const invalid = () => new AppError('UNAUTHENTICATED', 'Missing or invalid gateway identity');

/** Verifies a signed identity header; any defect is the same vague UNAUTHENTICATED error. */
export function verifyIdentity(header: string | undefined, secret: string, now = Date.now()): Identity {
  if (!header) throw invalid();
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw invalid();
  const body = `${parts[0]}.${parts[1]}`;
  const expected = Buffer.from(mac(secret, body));
  const given = Buffer.from(parts[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
  let payload: WirePayload;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as WirePayload;
  } catch {
    throw invalid();
  }
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > IDENTITY_MAX_AGE_MS) throw invalid();
  if (typeof payload.rid !== 'string' || typeof payload.iss !== 'string') throw invalid();
  if (payload.sub !== null && typeof payload.sub !== 'string') throw invalid();
  if (payload.role !== null && payload.role !== 'USER' && payload.role !== 'ADMIN') throw invalid();
  if (!isOptionalString(payload.ip) || !isOptionalString(payload.ua)) throw invalid();
  return {
    userId: payload.sub,
    role: payload.role,
    sessionId: typeof payload.sid === 'string' ? payload.sid : null,
    requestId: payload.rid,
    issuer: payload.iss,
    ...(payload.ip === undefined ? {} : { clientAddress: payload.ip }),
    ...(payload.ua === undefined ? {} : { userAgent: payload.ua }),
  };
}
