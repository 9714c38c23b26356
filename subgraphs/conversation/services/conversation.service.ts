import type { EntityManager } from '@mikro-orm/postgresql';
import { badUserInput, notFound } from '../../../common/errors';
import { isUuid } from '../../../common/ids';
import { type Connection, encodeCursor } from '../../../common/pagination';
import { ConversationEntity } from '../entities/conversation.entity';

export const MAX_TITLE_LENGTH = 200;
export const DEFAULT_TITLE = 'New conversation';

/** Position of a conversation in its owner's list: most recently active first, id breaks ties. */
export type ConversationCursor = [lastActivityAt: string, id: string];

export const isConversationCursor = (value: unknown): value is ConversationCursor =>
  Array.isArray(value) &&
  value.length === 2 &&
  typeof value[0] === 'string' &&
  !Number.isNaN(Date.parse(value[0])) &&
  isUuid(value[1]);

export function normaliseTitle(title: string | null | undefined): string {
  if (title === null || title === undefined) return DEFAULT_TITLE;
  const trimmed = title.trim();
  if (trimmed.length < 1 || trimmed.length > MAX_TITLE_LENGTH) {
    throw badUserInput('title', `title must be 1 to ${MAX_TITLE_LENGTH} characters`);
  }
  return trimmed;
}

export class ConversationService {
  constructor(private readonly em: EntityManager) {}

  async create(ownerId: string, title?: string | null): Promise<ConversationEntity> {
    const conversation = this.em.create(ConversationEntity, { ownerId, title: normaliseTitle(title) });
    await this.em.persistAndFlush(conversation);
    return conversation;
  }

  /** The conversation if the caller owns it; a foreign id is indistinguishable from a missing one. */
  async getOwned(ownerId: string, id: string): Promise<ConversationEntity> {
    const conversation = isUuid(id) ? await this.em.findOne(ConversationEntity, { id, ownerId }) : null;
    if (!conversation) throw notFound('Conversation');
    return conversation;
  }

  async listForOwner(
    ownerId: string,
    first: number,
    after: ConversationCursor | null,
  ): Promise<Connection<ConversationEntity>> {
    const rows = await this.em.find(
      ConversationEntity,
      after
        ? {
            ownerId,
            $or: [
              { lastActivityAt: { $lt: new Date(after[0]) } },
              { lastActivityAt: new Date(after[0]), id: { $lt: after[1] } },
            ],
          }
        : { ownerId },
      { orderBy: { lastActivityAt: 'desc', id: 'desc' }, limit: first + 1 },
    );
    const page = rows.slice(0, first);
    const edges = page.map((node) => ({
      node,
      cursor: encodeCursor([node.lastActivityAt.toISOString(), node.id] satisfies ConversationCursor),
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: after !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }
}
