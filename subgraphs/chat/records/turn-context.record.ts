import type { ConversationSettings } from '../../../common/records/conversation-settings.record';
import type { StoredMessage } from './message.record';

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
  /**
   * The prompt's budget with the reply (docs/chat.md#the-prompt): LLM_CONTEXT_TOKENS, or the model's
   * context window when it is smaller.
   */
  contextTokens: number;
  /** The conversation's switch, the owner's and the deployment's all on. */
  recallEnabled: boolean;
}
