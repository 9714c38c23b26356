import type { ConversationSettings } from '../../../common/records/conversation-settings.record';
import { BoundedCache } from '../../../common/util/bounded-cache';

/** The most conversations a process remembers; past it, the least recently used are forgotten. */
const CAPACITY = 10_000;

/** A conversation as a turn's context last showed it; any of it but the owner may have changed since. */
export interface KnownConversation {
  ownerId: string;
  settings: ConversationSettings;
  /** The owner's own switch for recall from their other conversations. */
  recallEnabled: boolean;
}

/**
 * Conversations this process has lately read or written a turn in, with their owner, their
 * settings and the owner's recall switch as last read. A conversation never changes owner, so a
 * follow-up to one known to be the caller's can take its slot before anything is read; its
 * settings may have changed, which the conversation subgraph checks when it writes the turn
 * (ChatService.sendFollowUp), and so may the switch, which it applies to the recall itself.
 */
export class KnownConversations {
  private readonly entries: BoundedCache<string, KnownConversation>;

  constructor(capacity = CAPACITY) {
    this.entries = new BoundedCache(capacity);
  }

  /** The conversation if it is known to be `ownerId`'s; else undefined. */
  ownedBy(conversationId: string, ownerId: string): KnownConversation | undefined {
    const known = this.entries.get(conversationId);
    return known?.ownerId === ownerId ? known : undefined;
  }

  /** What the conversation subgraph answered for its owner. */
  remember(conversationId: string, known: KnownConversation): void {
    this.entries.set(conversationId, known);
  }

  forget(conversationId: string): void {
    this.entries.delete(conversationId);
  }
}
