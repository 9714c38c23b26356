import { randomUUID } from 'node:crypto';
import { EMPTY_CONTEXT, type GenerationRecord, GenerationStatus } from '../records/generation.record';

/** A generation record as sendMessage stores it (STREAMING, nothing recorded yet), for tests to write directly. */
export function streamingGeneration(fields: Partial<GenerationRecord> = {}): GenerationRecord {
  return {
    id: randomUUID(),
    userId: randomUUID(),
    conversationId: randomUUID(),
    messageId: randomUUID(),
    parentMessageId: randomUUID(),
    model: 'm',
    provider: 'offline',
    status: GenerationStatus.STREAMING,
    startedAt: new Date(),
    firstTokenAt: null,
    finishedAt: null,
    usage: null,
    error: null,
    context: EMPTY_CONTEXT,
    ...fields,
  };
}
