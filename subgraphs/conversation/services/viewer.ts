import { forbidden, unauthenticated } from '../../../common/errors/errors';
import type { Identity } from '../../../common/identity/identity';

/**
 * Who is asking, as the services see it: the user the request acts for (if any) and, when a
 * trusted service signed the identity, that service. The gateway is never such a service.
 */
export interface Viewer {
  userId: string | null;
  service: string | null;
}

export function viewerOf(identity: Identity, internalCallers: readonly string[]): Viewer {
  const trusted = identity.issuer !== 'gateway' && internalCallers.includes(identity.issuer);
  return { userId: identity.userId, service: trusted ? identity.issuer : null };
}

export function requireUser(viewer: Viewer): string {
  if (!viewer.userId) throw unauthenticated();
  return viewer.userId;
}

/** The internal operations answer trusted services only, whatever user they act for. */
export function requireService(viewer: Viewer): string {
  if (!viewer.service) throw forbidden('This operation is internal to the platform');
  return viewer.service;
}

/**
 * Whose records the viewer may see: one owner's; every owner's, for a trusted service acting
 * for no user (crash recovery); or nobody's, for an anonymous caller.
 */
export type OwnerScope = { ownerId: string } | 'everyone' | 'nobody';

export function ownerScope(viewer: Viewer): OwnerScope {
  if (viewer.userId) return { ownerId: viewer.userId };
  return viewer.service ? 'everyone' : 'nobody';
}
