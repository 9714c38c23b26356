import type { GenerationContext, Memory, Model } from '../chat-client/chat-client';
import { GraphQLRequestError, SignedOutError, StreamDisconnectedError } from '../chat-client/errors';
import type {
  ConversationSummaryFragment,
  MessageFieldsFragment,
  SearchMessagesQuery,
} from '../generated/graphql';

const SPEAKERS: Record<MessageFieldsFragment['role'], string> = {
  USER: 'you',
  ASSISTANT: 'assistant',
  SYSTEM: 'system',
};

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

export function formatConversations(
  conversations: readonly ConversationSummaryFragment[],
  openId?: string,
): string {
  if (conversations.length === 0) return 'No conversations yet: type a message to start one.';
  return conversations
    .map(
      (c, i) =>
        `${c.id === openId ? '*' : ' '}${String(i + 1).padStart(3)}. ${c.title}  (${day(c.lastActivityAt)})`,
    )
    .join('\n');
}

export function formatMessages(messages: readonly MessageFieldsFragment[]): string {
  if (messages.length === 0) return '(no messages yet)';
  return messages
    .map(
      (m) =>
        `${SPEAKERS[m.role]}: ${m.content}${m.status === 'COMPLETE' ? '' : ` (${m.status.toLowerCase()})`}`,
    )
    .join('\n\n');
}

export function formatSearchHits(hits: SearchMessagesQuery['searchMessages']): string {
  if (hits.length === 0) return 'Nothing found.';
  return hits
    .map(
      (hit) =>
        `${hit.score.toFixed(2)}  [${hit.conversation.title}] ${SPEAKERS[hit.message.role]}: ${oneLine(hit.message.content, 100)}`,
    )
    .join('\n');
}

/** The models, one a line: `*` marks `currentId`, and each says if it is the default or unavailable. */
export function formatModels(models: readonly Model[], currentId: string | undefined): string {
  if (models.length === 0) return 'No models are served.';
  const width = Math.max(...models.map((model) => model.id.length));
  return models
    .map((model) => {
      const notes = [model.isDefault && 'default', !model.available && 'unavailable now'].filter(Boolean);
      const line = [
        `${model.id === currentId ? '*' : ' '} ${model.id.padEnd(width)}`,
        model.displayName === model.name ? '' : model.displayName,
        notes.length ? `(${notes.join(', ')})` : '',
      ];
      return line.join('  ').trimEnd();
    })
    .join('\n');
}

/** A setting as /model, /system and /temperature show it; null is the deployment's default. */
export function formatSetting(label: string, value: string | number | null): string {
  if (value === null) return `${label}: the deployment's default`;
  if (value === '') return `${label}: none`;
  return `${label}: ${value}`;
}

export const formatRecall = (enabled: boolean) =>
  `Recall from your other conversations: ${enabled ? 'on' : 'off'}`;

/** The memories, numbered for /memory forget N, each with its date and id. */
export function formatMemories(memories: readonly Memory[]): string {
  if (memories.length === 0) return 'Nothing remembered: /memory add TEXT adds something.';
  return memories
    .map(
      (memory, i) => `${String(i + 1).padStart(3)}. ${memory.text}  (${day(memory.createdAt)}, ${memory.id})`,
    )
    .join('\n');
}

/** What went into a reply's prompt, as /why shows it: each part, or that there was none. */
export function formatContext({ instructions, memories, recalled }: GenerationContext): string {
  const lines: string[] = [];
  if (instructions) {
    lines.push('Your instructions:');
    if (instructions.aboutMe) lines.push(`  about you: ${oneLine(instructions.aboutMe, 100)}`);
    if (instructions.howToAnswer) lines.push(`  how to answer: ${oneLine(instructions.howToAnswer, 100)}`);
  } else lines.push('Your instructions: none');
  lines.push(memories.length > 0 ? 'Memories:' : 'Memories: none');
  for (const memory of memories) lines.push(`  - ${memory.text}`);
  lines.push(recalled.length > 0 ? 'From your other conversations:' : 'From your other conversations: none');
  for (const hit of recalled) {
    lines.push(
      `  ${hit.score.toFixed(2)}  [${hit.conversation.title}] ${SPEAKERS[hit.message.role]}: ${oneLine(hit.message.content, 100)}`,
    );
  }
  return lines.join('\n');
}

/** A one-line explanation of a failed command; unknown errors are left to the caller. */
export function describeError(error: unknown): string | undefined {
  if (error instanceof GraphQLRequestError) {
    // The code first: it is what a reader can look up in docs/errors.md.
    return error.errors
      .map((e) => {
        const code = e.extensions?.code ? `${e.extensions.code}: ` : '';
        return `${code}${e.message}${e.extensions?.field ? ` (${e.extensions.field})` : ''}`;
      })
      .join('; ');
  }
  if (error instanceof SignedOutError || error instanceof StreamDisconnectedError) return error.message;
  // fetch() rejects with a TypeError whose cause says why the gateway could not be reached.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `Cannot reach the gateway${cause}`;
  }
  return undefined;
}
