import type { Instructions, Memory } from '../records/turn-context.record';
import type { GenerationContext } from '../records/generation.record';
import type { RecallHit, StoredMessage } from '../records/message.record';
import { estimateMessageTokens, estimateTokens } from './token-estimate';
import type { PromptMessage, ProviderRequest } from '../providers/provider';

export interface PromptInput {
  systemPrompt: string;
  /** The owner's instructions, when the conversation uses them. */
  instructions: Instructions | null;
  /** The owner's memories, newest first. */
  memories: Memory[];
  /** The active branch, root first, ending with the user message to answer. */
  history: StoredMessage[];
  /** Similar messages from the user's other conversations, best first. */
  recalled: RecallHit[];
  model: string;
  /** LLM_CONTEXT_TOKENS, or the model's context window when smaller (ChatService.plan). */
  contextTokens: number;
  maxOutputTokens: number;
  temperature: number;
  /** null: the provider's own default. */
  topP: number | null;
}

export interface Prompt {
  request: ProviderRequest;
  /** What of the instructions, memories and recall fitted and was put into the prompt. */
  context: GenerationContext;
}

/** Recall may take at most this share of the budget; the conversation itself comes first. */
const RECALL_SHARE = 0.25;
const RECALL_EXCERPT_CHARS = 600;
const RECALL_HEADING =
  "Excerpts from the user's other conversations that may be relevant (use them only if they help):";
export const MEMORIES_HEADING = 'What the user asked you to remember:';
export const ABOUT_ME_HEADING = 'About the user:';
export const HOW_TO_ANSWER_HEADING = 'How the user wants you to answer:';

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The instructions as they are sent (trimmed); null when there is nothing to send. */
function usedInstructions(instructions: Instructions | null): Instructions | null {
  const aboutMe = instructions?.aboutMe.trim() ?? '';
  const howToAnswer = instructions?.howToAnswer.trim() ?? '';
  return aboutMe || howToAnswer ? { aboutMe, howToAnswer } : null;
}

const instructionsText = ({ aboutMe, howToAnswer }: Instructions): string =>
  [
    ...(aboutMe ? [`${ABOUT_ME_HEADING}\n${aboutMe}`] : []),
    ...(howToAnswer ? [`${HOW_TO_ANSWER_HEADING}\n${howToAnswer}`] : []),
  ].join('\n\n');

const memoryLine = (memory: Memory) => `- ${memory.text}`;

/** The cost of one more section of the system text (the blank line that separates it included). */
const sectionCost = (text: string) => estimateTokens(`\n\n${text}`);

/**
 * The prompt for one reply (docs/chat.md#the-prompt). The system text is, in order: the system
 * prompt (plus the conversation's own SYSTEM messages), the user's instructions, their memories,
 * and last the recalled excerpts; the branch follows as turns. The budget is the model's context
 * less room for the reply. The system prompt and the message being answered are always sent; the
 * rest is given room in the order instructions, memories (newest first), history (newest first),
 * recall (best first, at most a quarter of the budget), so when the budget runs short what goes
 * first is recall, then the oldest history, then the oldest memories, then the instructions.
 * Turns are merged so roles alternate and the first is the user's, as Gemini needs.
 */
export function buildPrompt(input: PromptInput): Prompt {
  const budget = input.contextTokens - input.maxOutputTokens;
  const system = [
    input.systemPrompt,
    ...input.history.filter((m) => m.role === 'SYSTEM' && m.content.trim()).map((m) => m.content),
  ]
    .filter((part) => part !== '')
    .join('\n\n');
  const turns = input.history.filter((m) => m.role !== 'SYSTEM' && m.content.trim() !== '');
  const answered = turns.at(-1);
  let remaining = budget - estimateTokens(system) - (answered ? estimateMessageTokens(answered.content) : 0);

  const wanted = usedInstructions(input.instructions);
  const instructions = wanted && sectionCost(instructionsText(wanted)) <= remaining ? wanted : null;
  if (instructions) remaining -= sectionCost(instructionsText(instructions));

  const memories: Memory[] = [];
  if (input.memories.length > 0) {
    let cost = sectionCost(MEMORIES_HEADING);
    for (const memory of input.memories) {
      const line = estimateTokens(`\n${memoryLine(memory)}`);
      if (cost + line > remaining) break;
      memories.push(memory);
      cost += line;
    }
    if (memories.length > 0) remaining -= cost;
  }

  const kept: PromptMessage[] = answered ? [toTurn(answered)] : [];
  for (let i = turns.length - 2; i >= 0; i--) {
    const cost = estimateMessageTokens(turns[i].content);
    if (cost > remaining) break;
    kept.unshift(toTurn(turns[i]));
    remaining -= cost;
  }

  let recallBudget = Math.min(remaining, Math.floor(budget * RECALL_SHARE)) - sectionCost(RECALL_HEADING);
  const recalled: RecallHit[] = [];
  const recallLines: string[] = [];
  for (const hit of input.recalled) {
    const speaker = hit.message.role === 'USER' ? 'the user wrote' : 'the assistant replied';
    const line = `[${recalled.length + 1}] In "${hit.message.conversation.title}", ${speaker}: ${clip(hit.message.content, RECALL_EXCERPT_CHARS)}`;
    const cost = estimateTokens(`\n${line}`);
    if (cost > recallBudget) break;
    recalled.push(hit);
    recallLines.push(line);
    recallBudget -= cost;
  }

  const sections = [
    system,
    ...(instructions ? [instructionsText(instructions)] : []),
    ...(memories.length > 0 ? [[MEMORIES_HEADING, ...memories.map(memoryLine)].join('\n')] : []),
    ...(recallLines.length > 0 ? [[RECALL_HEADING, ...recallLines].join('\n')] : []),
  ].filter((section) => section !== '');
  return {
    request: {
      model: input.model,
      system: sections.join('\n\n'),
      messages: alternate(kept),
      maxOutputTokens: input.maxOutputTokens,
      temperature: input.temperature,
      topP: input.topP,
    },
    context: {
      instructions,
      memories: memories.map(({ id, text }) => ({ id, text })),
      recalled: recalled.map((hit) => ({
        messageId: hit.message.id,
        conversationId: hit.message.conversation.id,
        score: hit.score,
      })),
    },
  };
}

const toTurn = (message: StoredMessage): PromptMessage => ({
  role: message.role === 'USER' ? 'user' : 'assistant',
  content: message.content,
});

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
