import type { ConversationSettings } from '../../../common/records/conversation-settings.record';

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
