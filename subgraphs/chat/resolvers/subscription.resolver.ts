import {
  Arg,
  Directive,
  ID,
  Int,
  Resolver,
  Root,
  type SubscribeResolverData,
  Subscription,
} from 'type-graphql';
import { AppError, toGraphQLError } from '../../../common/errors/errors';
import { traceTurn } from '../../../common/logging/turn-trace';
import type { ChatContext } from '../context';
import type { FollowedEvent } from '../services/generation.service';
import { GenerationEvent } from '../schema/generation-event.type';
import { SendMessageInput } from '../schema/send-message.input';
import type { SendMessagePayload } from '../schema/send-message.type';
import type { StartedGeneration } from '../services/chat.service';
import { toSendMessagePayload } from './chat.resolver';
import { toGenerationEvent } from './generation.resolver';

type Subscribe<Args> = SubscribeResolverData<unknown, Args, ChatContext>;

/** A followed event of `Subscription.chat`; the first carries what the send answered. */
interface ChatEvent extends FollowedEvent {
  started: SendMessagePayload | null;
}

/** The reply's events, the first of them with what the send stored (`GenerationEvent.started`). */
async function* startedFirst(
  started: StartedGeneration,
  events: AsyncIterableIterator<FollowedEvent>,
): AsyncGenerator<ChatEvent> {
  let payload: SendMessagePayload | null = toSendMessagePayload(started);
  for await (const followed of events) {
    yield { ...followed, started: payload };
    payload = null;
  }
}

/**
 * The events, with a failure mid-stream (Redis away, a stalled stream) as a GraphQLError: graphql-ws
 * sends it as an `error` message, which keeps the code only from a GraphQLError. Closing this closes
 * the follower (`yield*` passes `return` on).
 */
async function* withGraphQLErrors(
  events: AsyncIterableIterator<FollowedEvent>,
): AsyncGenerator<FollowedEvent> {
  try {
    yield* events;
  } catch (error) {
    throw error instanceof AppError ? toGraphQLError(error) : error;
  }
}

/**
 * Events come from the generation's Redis Stream (services/generation.service.ts), not from a
 * type-graphql PubSub: `subscribe` returns the stream follower, these methods shape each event.
 */
@Resolver(() => GenerationEvent)
export class SubscriptionResolver {
  @Subscription(() => GenerationEvent, {
    description:
      'A generation’s events after `after` (0: from the start), then live ones until DONE, ERROR or STOPPED.',
    subscribe: async ({ args, context }: Subscribe<{ id: string; after: number }>) =>
      withGraphQLErrors(await context.generations.follow(context.caller, args.id, args.after)),
  })
  @Directive('@authenticated')
  generation(
    @Root() followed: FollowedEvent,
    @Arg('id', () => ID) id: string,
    @Arg('after', () => Int, { defaultValue: 0 }) _after: number,
  ): GenerationEvent {
    traceTurn('chat.event-resolved', id);
    return toGenerationEvent(followed);
  }

  @Subscription(() => GenerationEvent, {
    description:
      'Sends a message and streams the reply in one operation: the first event carries what `sendMessage` answers (`started`); resume after a drop with `generation(id, after)`.',
    subscribe: async ({ args, context }: Subscribe<{ input: SendMessageInput }>) => {
      const started = await context.chat.send(context.caller, args.input);
      return startedFirst(started, withGraphQLErrors(context.generations.followStarted(started.generation)));
    },
  })
  @Directive('@authenticated')
  chat(
    @Root() followed: ChatEvent,
    @Arg('input', () => SendMessageInput) _input: SendMessageInput,
  ): GenerationEvent {
    traceTurn('chat.event-resolved', followed.generation.id);
    return toGenerationEvent(followed, followed.started);
  }
}
