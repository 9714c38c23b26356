import type { Logger } from '../../../common/logging/logger';
import type { ChatProvider } from '../providers/provider';

const MAX_TITLE_CHARS = 80;
const HEURISTIC_WORDS = 6;
const TITLE_TIMEOUT_MS = 15_000;

const TITLE_INSTRUCTIONS =
  'You name chat conversations. Reply with a title of at most six words for the conversation ' +
  'below: no quotes, no trailing punctuation, nothing else.';

/** A title from the user's first message: its first sentence's first words, capitalised. */
export function heuristicTitle(message: string): string {
  const firstSentence =
    message
      .replace(/\s+/g, ' ')
      .trim()
      .split(/(?<=[.!?])\s/)[0] ?? '';
  const words = firstSentence.split(' ').filter(Boolean);
  let title = words
    .slice(0, HEURISTIC_WORDS)
    .join(' ')
    .replace(/[\s.,;:!?…-]+$/u, '');
  if (words.length > HEURISTIC_WORDS) title += '…';
  title = title.slice(0, MAX_TITLE_CHARS);
  return title ? title[0].toUpperCase() + title.slice(1) : 'Untitled';
}

/** Cleans what a model returned: one line, no wrapping quotes or "Title:" label, bounded length. */
export function cleanTitle(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean)
      ?.replace(/^title:\s*/i, '')
      .replace(/^["'“”*#\s]+|["'“”*.\s]+$/gu, '')
      .slice(0, MAX_TITLE_CHARS)
      .trim() ?? ''
  );
}

/**
 * Names a conversation after its first exchange: the provider is asked when it is a language
 * model, the heuristic answers for the offline one and whenever the provider fails or says nothing.
 */
export class TitleGenerator {
  constructor(
    private readonly provider: ChatProvider,
    private readonly model: string,
    private readonly logger: Logger,
  ) {}

  /**
   * The title when it costs no model call (the offline provider's first words), so that it can
   * go with the reply's final save; null when only `title` can tell.
   */
  immediateTitle(userMessage: string): string | null {
    return this.provider.name === 'offline' ? heuristicTitle(userMessage) : null;
  }

  async title(userMessage: string, reply: string): Promise<string> {
    const immediate = this.immediateTitle(userMessage);
    if (immediate !== null) return immediate;
    try {
      const text = await this.provider.complete(
        {
          model: this.model,
          system: TITLE_INSTRUCTIONS,
          messages: [
            {
              role: 'user',
              content: `User: ${userMessage.slice(0, 2_000)}\n\nAssistant: ${reply.slice(0, 2_000)}`,
            },
          ],
          maxOutputTokens: 32,
          temperature: 0.2,
        },
        AbortSignal.timeout(TITLE_TIMEOUT_MS),
      );
      return cleanTitle(text) || heuristicTitle(userMessage);
    } catch (error) {
      this.logger.warn({ err: error }, 'title generation failed; using the first words instead');
      return heuristicTitle(userMessage);
    }
  }
}
