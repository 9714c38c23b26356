import type { Role } from '../../../common/identity/roles';

export type MessageRole = 'USER' | 'ASSISTANT' | 'SYSTEM';
export type MessageStatus = 'COMPLETE' | 'STREAMING' | 'STOPPED' | 'INTERRUPTED' | 'FAILED';

/** A message as the conversation subgraph stores it. */
export interface StoredMessage {
  id: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  createdAt: Date;
  conversation: { id: string; title: string };
  parentId: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  model: string | null;
}

export interface RecallHit {
  score: number;
  message: StoredMessage;
}

/** Whom a call is made for: the conversation subgraph applies that user's ownership rules. */
export interface Actor {
  userId: string;
  role: Role | null;
  requestId: string;
}

export interface AppendMessageInput {
  /** null: a new conversation owned by the actor. */
  conversationId: string | null;
  /** null: under the conversation's active leaf. */
  parentId: string | null;
  /** A new root beside the conversation's first message (parentId null). */
  asRoot?: boolean;
  role: MessageRole;
  content: string;
  status?: MessageStatus;
  model?: string;
}

export interface UpdateMessageInput {
  id: string;
  content?: string;
  status?: MessageStatus;
  promptTokens?: number;
  completionTokens?: number;
}

/**
 * Persistence for the pipeline: the conversation subgraph is the source of truth for messages
 * (conversation-client.ts); tests about the pipeline alone use memory-conversation-store.ts.
 */
export interface ConversationStore {
  /** The conversation if the actor owns it; NOT_FOUND otherwise, exactly as for a missing one. */
  conversation(actor: Actor, conversationId: string): Promise<{ id: string; title: string }>;
  appendMessage(actor: Actor, input: AppendMessageInput): Promise<StoredMessage>;
  updateMessage(actor: Actor, input: UpdateMessageInput): Promise<StoredMessage>;
  /** The branch from the root to `leafId`, oldest first, at most the newest `limit` messages. */
  messagePath(actor: Actor, leafId: string, limit: number): Promise<StoredMessage[]>;
  /** Messages like `query` from the actor's other conversations, best first. */
  recallMessages(
    actor: Actor,
    query: string,
    excludeConversationId: string,
    first: number,
  ): Promise<RecallHit[]>;
  renameConversation(actor: Actor, conversationId: string, title: string): Promise<void>;
  /** Every message still STREAMING, whoever owns it (crash recovery). */
  streamingMessages(requestId: string): Promise<StoredMessage[]>;
}

/** The title a conversation has until someone names it (the conversation subgraph's default). */
export const UNTITLED_CONVERSATION = 'New conversation';
