import type { RecallHit, StoredMessage } from '../records/message.record';
import { estimateMessageTokens, estimateTokens } from './token-estimate';
import type { PromptMessage, ProviderRequest } from '../providers/provider';

export interface PromptInput {
  systemPrompt: string;
  /** The active branch, root first, ending with the user message to answer. */
  history: StoredMessage[];
  /** Similar messages from the user's other conversations, best first. */
  recalled: RecallHit[];
  model: string;
  contextTokens: number;
  maxOutputTokens: number;
  temperature: number;
}

export interface Prompt {
  request: ProviderRequest;
  /** The recalled messages that fitted and were put into the prompt. */
  recalled: RecallHit[];
}

/** Recall may take at most this share of the budget; the conversation itself comes first. */
const RECALL_SHARE = 0.25;
const RECALL_EXCERPT_CHARS = 600;
const RECALL_HEADING =
  "Excerpts from the user's other conversations that may be relevant (use them only if they help):";

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The prompt for one reply: the system prompt (plus the conversation's own SYSTEM messages),
 * then as much of the branch as fits the model's context after room for the reply, newest kept
 * first; the message being answered is always sent. Recall fills what budget is left, up to a
 * quarter of it. Turns are merged so roles alternate and the first is the user's, as Gemini needs.
 */
export function buildPrompt(input: PromptInput): Prompt {
  const budget = input.contextTokens - input.maxOutputTokens;
  const instructions = [
    input.systemPrompt,
    ...input.history.filter((m) => m.role === 'SYSTEM' && m.content.trim()).map((m) => m.content),
  ].join('\n\n');
  let remaining = budget - estimateTokens(instructions);

  const turns = input.history.filter((m) => m.role !== 'SYSTEM' && m.content.trim() !== '');
  const kept: PromptMessage[] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    const cost = estimateMessageTokens(turns[i].content);
    if (kept.length > 0 && cost > remaining) break;
    kept.unshift({ role: turns[i].role === 'USER' ? 'user' : 'assistant', content: turns[i].content });
    remaining -= cost;
  }

  let recallBudget = Math.min(remaining, Math.floor(budget * RECALL_SHARE)) - estimateTokens(RECALL_HEADING);
  const recalled: RecallHit[] = [];
  const recallLines: string[] = [];
  for (const hit of input.recalled) {
    const speaker = hit.message.role === 'USER' ? 'the user wrote' : 'the assistant replied';
    const line = `[${recalled.length + 1}] In "${hit.message.conversation.title}", ${speaker}: ${clip(hit.message.content, RECALL_EXCERPT_CHARS)}`;
    const cost = estimateTokens(line);
    if (cost > recallBudget) break;
    recalled.push(hit);
    recallLines.push(line);
    recallBudget -= cost;
  }

  return {
    request: {
      model: input.model,
      system:
        recallLines.length > 0
          ? `${instructions}\n\n${RECALL_HEADING}\n${recallLines.join('\n')}`
          : instructions,
      messages: alternate(kept),
      maxOutputTokens: input.maxOutputTokens,
      temperature: input.temperature,
    },
    recalled,
  };
}

/** Joins consecutive turns of one role and drops assistant turns before the first user turn. */
function alternate(messages: PromptMessage[]): PromptMessage[] {
  const result: PromptMessage[] = [];
  for (const message of messages) {
    const previous = result[result.length - 1];
    if (!previous && message.role === 'assistant') continue;
    if (previous?.role === message.role) previous.content = `${previous.content}\n\n${message.content}`;
    else result.push({ ...message });
  }
  return result;
}
