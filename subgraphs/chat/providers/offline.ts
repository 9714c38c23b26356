import { sleep } from '../support/sleep';
import type { ChatProvider, ModelSource, ProviderChunk, ProviderModel, ProviderRequest } from './provider';

export interface OfflineOptions {
  /** Pause before each word, so the reply streams like a model's would. */
  tokenIntervalMs: number;
}

const EXCERPT_CHARS = 160;

/** Words with the whitespace that follows them: the reply's "tokens". */
export const splitIntoWords = (text: string): string[] => text.match(/\S+\s*/g) ?? [];

const excerpt = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat;
};

const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * The reply the offline model gives: built only from the request, the same every time for the
 * same request, and plain about what it is.
 */
export function offlineReply(request: ProviderRequest): string {
  const latest = request.messages.at(-1)?.content ?? '';
  const earlier = request.messages.length - 1;
  const lines = [
    'I am the offline responder, not a language model: I compose this reply from your message without understanding it.',
    '',
    `You wrote ${count(splitIntoWords(latest).length, 'word')}: “${excerpt(latest)}”`,
  ];
  if (earlier > 0) lines.push(`This conversation had ${count(earlier, 'earlier message')} before it.`);
  lines.push(
    '',
    'For real answers, set GEMINI_API_KEY or OPENAI_COMPATIBLE_ENDPOINTS and pick one of their models.',
  );
  return lines.join('\n');
}

/** The one model the offline provider serves; its display name says what it is. */
const OFFLINE_ECHO: ProviderModel = {
  name: 'echo',
  displayName: 'offline-echo (not a language model)',
  description:
    'Built-in offline responder for development: it composes a deterministic reply from your message and is not a language model.',
  capabilities: ['streaming'],
};

/**
 * The default provider when none is configured: the platform works with no key and no network.
 * It is a development stand-in, not a model; docs/chat.md says so and so does its model id.
 */
export class OfflineProvider implements ChatProvider, ModelSource {
  readonly name = 'offline';

  constructor(private readonly options: OfflineOptions) {}

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    const words = splitIntoWords(offlineReply(request));
    for (const [i, word] of words.entries()) {
      // The pace is between words: the first comes at once, so the stand-in adds nothing to the
      // time to the first token (what is measured is the platform's).
      if (i > 0) await sleep(this.options.tokenIntervalMs, signal);
      else signal.throwIfAborted();
      yield { kind: 'text', text: word };
    }
    // No usage chunk: there are no real token counts, so the pipeline estimates them (`estimated`).
  }

  async complete(request: ProviderRequest): Promise<string> {
    return offlineReply(request);
  }

  async listModels(): Promise<ProviderModel[]> {
    return [OFFLINE_ECHO];
  }
}
