import { randomUUID } from 'node:crypto';
import type { ConversationSettings } from '../../../common/records/conversation-settings.record';

/** The title of a conversation nobody has named yet. */
export const DEFAULT_TITLE = 'New conversation';

/**
 * A conversation as services hand it out and the cache stores it: no ORM state attached, so a
 * value read from Redis and one read from PostgreSQL are interchangeable.
 */
export interface ConversationRecord {
  id: string;
  ownerId: string;
  title: string;
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  activeLeafId: string | null;
  settings: ConversationSettings;
}

/** A conversation about to be created: a new id, created and active now, no message yet. */
export const newConversation = (
  ownerId: string,
  title: string,
  settings: ConversationSettings,
): ConversationRecord => {
  const now = new Date();
  return {
    id: randomUUID(),
    ownerId,
    title,
    createdAt: now,
    updatedAt: now,
    lastActivityAt: now,
    activeLeafId: null,
    settings,
  };
};
