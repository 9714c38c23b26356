import { forbidden, unauthenticated } from '../errors/errors';
import type { Identity } from './identity';

/**
 * Who is asking, as every service sees it: the verified identity plus, when a service the
 * subgraph trusts (never the gateway) signed it, that service's name. Always a service
 * method's first argument.
 */
export interface Caller extends Identity {
  /** The trusted service that signed the identity, or null for a call relayed by the gateway. */
  service: string | null;
}

/** A caller acting for a user (signed in at the gateway, or a trusted service acting for them). */
export interface UserCaller extends Caller {
  userId: string;
}

/** The caller behind a verified identity; `trustedServices` lists the issuers allowed internal operations. */
export function callerOf(identity: Identity, trustedServices: readonly string[]): Caller {
  const trusted = identity.issuer !== 'gateway' && trustedServices.includes(identity.issuer);
  return { ...identity, service: trusted ? identity.issuer : null };
}

export const isSignedIn = (caller: Caller): caller is UserCaller => caller.userId !== null;

/** The caller as the user it acts for; anyone else is UNAUTHENTICATED. */
export function requireUser(caller: Caller): UserCaller {
  if (!isSignedIn(caller)) throw unauthenticated();
  return caller;
}

/** The trusted service behind the caller, for operations internal to the platform; anyone else is FORBIDDEN. */
export function requireService(caller: Caller): string {
  if (!caller.service) throw forbidden('This operation is internal to the platform');
  return caller.service;
}
