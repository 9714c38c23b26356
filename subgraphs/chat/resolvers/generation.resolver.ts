import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { MAX_MEMORIES_IN_PROMPT, MAX_RECALL_LIMIT } from '../config';
import type { ChatContext } from '../context';
import type { GenerationRecord } from '../records/generation.record';
import type { FollowedEvent } from '../services/generation.service';
import { GenerationEventType } from '../streams/generation-event';
import { Generation } from '../schema/generation.type';
import type { GenerationEvent } from '../schema/generation-event.type';
import type { SendMessagePayload } from '../schema/send-message.type';
import { providerOf } from '../schema/model.type';
import { Conversation, Message } from '../schema/references';

const generationOf = (record: GenerationRecord): Generation => ({
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
  context: {
    instructions: record.context.instructions,
    memories: record.context.memories.slice(0, MAX_MEMORIES_IN_PROMPT),
    // Records kept from before the bound may hold more.
    recalled: record.context.recalled.slice(0, MAX_RECALL_LIMIT).map((recalled) => ({
      score: recalled.score,
      message: { id: recalled.messageId },
      conversation: { id: recalled.conversationId },
    })),
  },
});

/**
 * Records are never changed once handed out (a subscriber's copy is replaced, not mutated, see
 * generation.service.ts), so a record is mapped once: every token event of a generation shares it.
 */
const mapped = new WeakMap<GenerationRecord, Generation>();

/** A generation record as `Generation`. */
export function toGeneration(record: GenerationRecord): Generation {
  let generation = mapped.get(record);
  if (!generation) {
    generation = generationOf(record);
    mapped.set(record, generation);
  }
  return generation;
}

export const toGenerationEvent = (
  { event, generation }: FollowedEvent,
  started: SendMessagePayload | null = null,
): GenerationEvent => ({
  seq: event.seq,
  type: event.type,
  delta: event.type === GenerationEventType.TOKEN ? event.delta : null,
  error: event.type === GenerationEventType.ERROR ? event.error : null,
  generation: toGeneration(generation),
  message: { id: generation.messageId },
  started,
});

@Resolver(() => Message)
export class MessageGenerationResolver {
  @FieldResolver(() => Generation, {
    nullable: true,
    description: `The generation that wrote this reply, while its record is kept (GENERATION_RETENTION_DAYS).`,
  })
  async generation(@Root() message: Message, @Ctx() ctx: ChatContext): Promise<Generation | null> {
    const generation = await ctx.generations.forMessage(ctx.caller, message.id);
    return generation && toGeneration(generation);
  }
}

@Resolver(() => Conversation)
export class ConversationGenerationResolver {
  @FieldResolver(() => Generation, { nullable: true, description: 'The reply being written, if any.' })
  async activeGeneration(
    @Root() conversation: Conversation,
    @Ctx() ctx: ChatContext,
  ): Promise<Generation | null> {
    const generation = await ctx.generations.activeInConversation(ctx.caller, conversation.id);
    return generation && toGeneration(generation);
  }
}
