import type { Caller } from '../../../common/identity/caller';

/**
 * Whose records the caller may see: one owner's; every owner's, for a trusted service acting
 * for no user (crash recovery); or nobody's, for an anonymous caller.
 */
export type OwnerScope = { ownerId: string } | 'everyone' | 'nobody';

export function ownerScope(caller: Caller): OwnerScope {
  if (caller.userId) return { ownerId: caller.userId };
  return caller.service ? 'everyone' : 'nobody';
}
