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

/** A conversation as chat reads it: the title, how its replies are generated, its owner's instructions. */
export interface ConversationSummary {
  id: string;
  title: string;
  settings: ConversationSettings;
  instructions: Instructions;
}

/** What one reply is generated with: the conversation's settings over the deployment's defaults. */
export interface ReplySettings {
  systemPrompt: string;
  temperature: number;
  /** null: the provider's own default. */
  topP: number | null;
  maxOutputTokens: number;
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
