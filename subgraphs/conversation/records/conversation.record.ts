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

/**
 * How replies in a conversation are generated. A null field means the deployment's default (chat's
 * configuration), so a conversation follows a change of default until its owner picks a value.
 */
export interface ConversationSettings {
  /** A model id as the chat subgraph's `models` lists it; chat checks it against its catalog. */
  model: string | null;
  /** The conversation's own system prompt; '' means none at all. */
  systemPrompt: string | null;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  /** Whether replies may draw on the owner's other conversations. */
  recallEnabled: boolean;
  /** Whether the owner's custom instructions go into the prompt. */
  instructionsEnabled: boolean;
}
