import type { ProviderName } from '../config';

/** Where a generation is in its life; every status but STREAMING is final. */
export enum GenerationStatus {
  STREAMING = 'STREAMING',
  COMPLETE = 'COMPLETE',
  STOPPED = 'STOPPED',
  INTERRUPTED = 'INTERRUPTED',
  FAILED = 'FAILED',
}

export type FinalStatus = Exclude<GenerationStatus, GenerationStatus.STREAMING>;

export const isFinal = (status: GenerationStatus): status is FinalStatus =>
  status !== GenerationStatus.STREAMING;

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the provider reported no counts and they were estimated from the text. */
  estimated: boolean;
}

/** A message from another conversation that recall put into the prompt. */
export interface RecalledMessage {
  messageId: string;
  conversationId: string;
  score: number;
}

/** Exactly what went into a generation's prompt besides the conversation itself (a snapshot). */
export interface GenerationContext {
  /** The instructions as sent; null when none were. */
  instructions: { aboutMe: string; howToAnswer: string } | null;
  /** The memories as sent, newest first. */
  memories: { id: string; text: string }[];
  recalled: RecalledMessage[];
}

export const EMPTY_CONTEXT: GenerationContext = { instructions: null, memories: [], recalled: [] };

/** One run of a model producing an assistant message; kept in Redis (see docs/chat.md). */
export interface GenerationRecord {
  id: string;
  userId: string;
  conversationId: string;
  /** The assistant message being written. */
  messageId: string;
  /** The user message it answers. */
  parentMessageId: string;
  model: string;
  provider: ProviderName;
  status: GenerationStatus;
  startedAt: Date;
  firstTokenAt: Date | null;
  finishedAt: Date | null;
  usage: TokenUsage | null;
  /** Why it FAILED or was INTERRUPTED, in words fit for the user. */
  error: string | null;
  /** What the prompt held; empty until the prompt is built. */
  context: GenerationContext;
}
