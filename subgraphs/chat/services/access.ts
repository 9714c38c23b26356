import { unauthenticated } from '../../../common/errors/errors';
import type { Identity } from '../../../common/identity/identity';
import type { Actor } from '../clients/conversation-store';

/** The signed-in caller as the actor of conversation calls; anonymous callers are refused. */
export function actorOf(identity: Identity): Actor {
  if (!identity.userId) throw unauthenticated();
  return { userId: identity.userId, role: identity.role, requestId: identity.requestId };
}
