import { badUserInput, upstreamUnavailable } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import type { Logger } from '../../../common/logging/logger';
import { checkPageSize } from '../../../common/graphql/pagination';
import { withTimeout } from '../../../common/util/timeout';
import { traceTurn } from '../../../common/logging/turn-trace';
import type { SearchHitRecord } from '../records/search-hit.record';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import type { VectorIndexRepository, VectorScope } from '../repositories/vector-index.repository';
import type { ConversationService } from './conversation.service';
import type { ServiceContext } from './service-context';
import { type Caller, requireService, requireUser } from '../../../common/identity/caller';

export const MAX_QUERY_LENGTH = 1_000;

export interface SearchDependencies {
  embedding: EmbeddingModel;
  index: VectorIndexRepository;
  logger: Logger;
}

/** Semantic search over the caller's own messages, answered by Chroma and checked in PostgreSQL. */
export class SearchService {
  constructor(
    private readonly context: ServiceContext,
    private readonly search: SearchDependencies,
    private readonly conversations: ConversationService,
  ) {}

  /** The caller's messages nearest in meaning to `query`, optionally within one conversation. */
  async searchMessages(
    caller: Caller,
    query: string,
    conversationId: string | null,
    first: number,
  ): Promise<SearchHitRecord[]> {
    const { userId: ownerId } = requireUser(caller);
    checkPageSize(first, 'first');
    const text = checkQuery(query);
    if (conversationId) await this.conversations.get(caller, conversationId);
    return this.nearest(text, { ownerId, conversationId: conversationId || undefined }, first);
  }

  /**
   * Internal: the user's messages from other conversations that relate to `query` (for a prompt);
   * none, and no search, for a user who turned recall off. Chat asks only when the turn's settings
   * allow recall, but a first message's recall starts before its owner's switch is read: the switch
   * is kept here, where the messages are.
   */
  async recallMessages(
    caller: Caller,
    query: string,
    excludeConversationId: string | null,
    first: number,
    switchRead?: Promise<boolean>,
  ): Promise<SearchHitRecord[]> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    checkPageSize(first, 'first');
    const text = checkQuery(query);
    const exclude = isUuid(excludeConversationId) ? excludeConversationId : undefined;
    const switchedOn =
      switchRead ??
      this.context.repositories.memories.recallEnabled(ownerId).then((enabled) => enabled ?? true);
    return this.nearest(
      text,
      { ownerId, excludeConversationId: exclude },
      first,
      switchedOn,
      caller.requestId,
    );
  }

  /**
   * Internal: `recallMessages` by a turn's message, for the request that writes the turn (chat's
   * one request per turn). It never rejects once its arguments are checked: a search that fails,
   * or that has not answered by `deadline` (epoch milliseconds), recalls nothing, logged, and the
   * turn is answered without it; the search itself runs on to its own timeout. A message longer
   * than a query may be is searched by its beginning. `switchRead` is the owner's recall switch
   * when the request reads it anyway (a first message's context); else the search reads it.
   */
  recallFor(
    caller: Caller,
    message: string,
    excludeConversationId: string | null,
    first: number,
    deadline: number,
    switchRead?: Promise<boolean>,
  ): Promise<SearchHitRecord[]> {
    checkPageSize(first, 'recall.first');
    const query = message.trim().slice(0, MAX_QUERY_LENGTH);
    const search = this.recallMessages(caller, query, excludeConversationId, first, switchRead);
    return withTimeout(search, Math.max(0, deadline - Date.now()), 'recall').catch((error: unknown) => {
      this.search.logger.warn({ err: error }, 'recall unavailable; the turn is answered without it');
      return [];
    });
  }

  /**
   * `allowed`, read beside the query's embedding, can stop the search before Chroma is asked. A
   * recall's steps are marked for the turn benchmark's breakdown under `traceKey` (its request).
   */
  private async nearest(
    query: string,
    scope: VectorScope,
    limit: number,
    allowed: Promise<boolean> = Promise.resolve(true),
    traceKey?: string,
  ): Promise<SearchHitRecord[]> {
    const embedded = this.upstream('embedding model', () => this.search.embedding.embed([query], 'query'));
    const [[vector], searching] = await Promise.all([embedded, allowed]);
    if (traceKey) traceTurn('conversation.recall-embedded', traceKey);
    // A query of only unknown words means nothing to the offline model, so nothing matches it.
    if (!vector || !searching) return [];
    const matches = await this.upstream('chroma', () => this.search.index.query(vector, scope, limit));
    if (traceKey) traceTurn('conversation.recall-searched', traceKey);
    // PostgreSQL has the last word: a vector whose message is gone (or not the caller's) is dropped.
    // Read with its conversation, primed for the answer's fields, so that nothing is read again.
    const found = await this.context.repositories.messages.findByIdsWithConversations(
      matches.map((match) => match.messageId),
      scope.ownerId,
    );
    if (traceKey) traceTurn('conversation.recall-checked', traceKey);
    const { loaders } = this.context;
    const messages = new Map(found.map(({ message }) => [message.id, message]));
    for (const { message, conversation } of found) {
      loaders.message.prime(message.id, message);
      loaders.conversation.prime(conversation.id, conversation);
    }
    return matches.flatMap((match) => {
      const message = messages.get(match.messageId);
      return message ? [{ score: match.score, message }] : [];
    });
  }

  /** Runs a call to a search dependency; its failure is UPSTREAM_UNAVAILABLE, logged with the cause. */
  private async upstream<T>(dependency: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.search.logger.warn({ err: error, dependency }, 'search dependency failed');
      throw upstreamUnavailable(dependency);
    }
  }
}

function checkQuery(query: string): string {
  const trimmed = query.trim();
  if (trimmed.length < 1 || trimmed.length > MAX_QUERY_LENGTH) {
    throw badUserInput('query', `query must be 1 to ${MAX_QUERY_LENGTH} characters`);
  }
  return trimmed;
}
