import { badUserInput } from '../errors/errors';

/**
 * How replies in a conversation are generated, as the conversation subgraph stores them
 * (docs/conversation.md) and chat reads them at every turn. A null field means the deployment's
 * default (chat's configuration), so a conversation follows a change of default until its owner
 * picks a value.
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

/** The settings of a conversation nobody has set anything on: every default. */
export const DEFAULT_CONVERSATION_SETTINGS: ConversationSettings = {
  model: null,
  systemPrompt: null,
  temperature: null,
  topP: null,
  maxOutputTokens: null,
  recallEnabled: true,
  instructionsEnabled: true,
};

/**
 * The settings as one string, equal exactly when the settings are: what chat planned a reply with,
 * for the conversation subgraph to compare with what it stores when it writes the turn.
 */
export const settingsKey = (settings: ConversationSettings): string =>
  JSON.stringify([
    settings.model,
    settings.systemPrompt,
    settings.temperature,
    settings.topP,
    settings.maxOutputTokens,
    settings.recallEnabled,
    settings.instructionsEnabled,
  ]);

/**
 * Refuses a setting above what the chosen model allows, as BAD_USER_INPUT naming `field` (say
 * `settings.temperature`): the conversation subgraph when settings are stored, chat when a turn
 * uses them. Nothing to check when either the setting or the limit is unset.
 */
export function checkWithinModelLimit(
  field: string,
  value: number | null,
  limit: number | null,
  modelId: string,
): void {
  if (value === null || limit === null || value <= limit) return;
  const name = field.slice(field.lastIndexOf('.') + 1);
  throw badUserInput(field, `${name} must be at most ${limit} for ${modelId}`);
}
