/**
 * Token counts when a provider reports none (the offline model, a stopped or failed reply):
 * about four characters a token for English, plus a few tokens of framing per message, the
 * rule of thumb OpenAI and Google both publish. Good enough for budgets and quotas.
 */
const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 4;

export const estimateTokens = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN);

export const estimateMessageTokens = (text: string): number => estimateTokens(text) + TOKENS_PER_MESSAGE;
