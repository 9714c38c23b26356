import type { GenerationRecord } from '../records/generation.record';
import type { UsageReport } from '../services/quota.service';
import type { DailyUsage as DailyCounts } from '../repositories/usage.repository';
import type { StartedGeneration } from '../services/chat.service';
import type { FollowedEvent } from '../services/generation.service';
import { GenerationEventType } from '../streams/generation-event';
import type { Generation } from '../schema/generation.type';
import type { GenerationEvent } from '../schema/generation-event.type';
import { providerOf } from '../schema/model.type';
import type { SendMessagePayload } from '../schema/send-message.type';
import type { DailyUsage, Usage } from '../schema/usage.type';
import { MAX_RECALL_LIMIT } from '../config';

/* Service records as the GraphQL types show them; other subgraphs' entities as references. */

const viewOf = (record: GenerationRecord): Generation => ({
  id: record.id,
  status: record.status,
  model: record.model,
  provider: providerOf(record.provider),
  message: { id: record.messageId },
  conversation: { id: record.conversationId },
  startedAt: record.startedAt,
  firstTokenAt: record.firstTokenAt,
  finishedAt: record.finishedAt,
  usage: record.usage && {
    ...record.usage,
    totalTokens: record.usage.promptTokens + record.usage.completionTokens,
  },
  error: record.error,
  // Records kept from before the bound may hold more.
  context: record.context.slice(0, MAX_RECALL_LIMIT).map((recalled) => ({
    score: recalled.score,
    message: { id: recalled.messageId },
    conversation: { id: recalled.conversationId },
  })),
});

/**
 * Records are never changed once handed out (a subscriber's copy is replaced, not mutated, see
 * generation.service.ts), so a view is built once per record: every token event of a generation
 * shares it.
 */
const views = new WeakMap<GenerationRecord, Generation>();

export function toGeneration(record: GenerationRecord): Generation {
  let view = views.get(record);
  if (!view) {
    view = viewOf(record);
    views.set(record, view);
  }
  return view;
}

export const toGenerationEvent = ({ event, generation }: FollowedEvent): GenerationEvent => ({
  seq: event.seq,
  type: event.type,
  delta: event.type === GenerationEventType.TOKEN ? event.delta : null,
  error: event.type === GenerationEventType.ERROR ? event.error : null,
  generation: toGeneration(generation),
  message: { id: generation.messageId },
});

export const toSendMessagePayload = (started: StartedGeneration): SendMessagePayload => ({
  conversation: { id: started.conversationId },
  userMessage: { id: started.userMessage.id },
  generation: toGeneration(started.generation),
});

const toDailyUsage = (day: DailyCounts): DailyUsage => ({
  ...day,
  totalTokens: day.promptTokens + day.completionTokens,
});

export const toUsage = (report: UsageReport): Usage => ({
  ...report.totals,
  totalTokens: report.totals.promptTokens + report.totals.completionTokens,
  today: toDailyUsage(report.today),
  daily: report.daily.map(toDailyUsage),
  activeGenerations: report.activeGenerations,
  limits: report.limits,
  dailyTokensRemaining: report.dailyTokensRemaining,
  resetsAt: report.resetsAt,
});
