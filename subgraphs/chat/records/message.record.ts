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

/** A message from another conversation like the one being answered, with how alike they are. */
/** A message recall found, as much of it as a prompt and `Generation.context` use. */
export type RecalledMessage = Pick<StoredMessage, 'id' | 'role' | 'content' | 'conversation'>;

export interface RecallHit {
  score: number;
  message: RecalledMessage;
}

/** The title a conversation has until someone names it (the conversation subgraph's default). */
export const UNTITLED_CONVERSATION = 'New conversation';
