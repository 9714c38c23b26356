import type { StoredMessage } from './message.record';

/**
 * A conversation's settings as the conversation subgraph stores them (docs/conversation.md): a null
 * field means the deployment's default; a systemPrompt of '' means none at all.
 */
export interface ConversationSettings {
  model: string | null;
  systemPrompt: string | null;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  recallEnabled: boolean;
  instructionsEnabled: boolean;
}

/** The owner's custom instructions; '' where they wrote nothing. */
export interface Instructions {
  aboutMe: string;
  howToAnswer: string;
}

/** Something the user asked the assistant to remember. */
export interface Memory {
  id: string;
  text: string;
}

/**
 * Everything one turn's prompt is built from, read from the conversation subgraph in one request
 * (its internal `turnContext`).
 */
export interface TurnContext {
  /** The conversation the history is in; null for a first message, which creates one. */
  conversationId: string | null;
  settings: ConversationSettings;
  /** The owner's instructions; null when the conversation turns them off. */
  instructions: Instructions | null;
  /** The owner's memories, newest first. */
  memories: Memory[];
  /** The owner's own switch for recall from their other conversations. */
  recallEnabled: boolean;
  /** The branch from the root to the leaf asked for, oldest first. */
  history: StoredMessage[];
}

/** What one reply is generated with: the conversation's settings over the deployment's defaults. */
export interface ReplySettings {
  /** The conversation's system prompt, or the deployment's; '' for none. */
  systemPrompt: string;
  /** The owner's instructions, when the conversation uses them. */
  instructions: Instructions | null;
  /** The owner's memories, newest first. */
  memories: Memory[];
  temperature: number;
  /** null: the provider's own default. */
  topP: number | null;
  maxOutputTokens: number;
  /** The conversation's switch, the owner's and the deployment's all on. */
  recallEnabled: boolean;
}

/** The settings of a conversation nobody has set anything on (one sendMessage is creating). */
export const DEFAULT_CONVERSATION_SETTINGS: ConversationSettings = {
  model: null,
  systemPrompt: null,
  temperature: null,
  topP: null,
  maxOutputTokens: null,
  recallEnabled: true,
  instructionsEnabled: true,
};
