import { badUserInput, forbidden, notFound } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import { isUuid } from '../../../common/util/ids';
import type { MemoryRecord } from '../records/memory.record';
import { MAX_MEMORIES } from '../repositories/memory.repository';
import type { ServiceContext } from './service-context';

export const MEMORY_MAX_CHARS = 2_000;

/**
 * What a user asked the assistant to remember, and their switch for recall from other
 * conversations: each user reads and changes only their own. Memories go into every prompt of
 * theirs (chat reads them with the turn, see TurnService); a forgotten one is gone from the table.
 */
export class MemoryService {
  constructor(private readonly context: ServiceContext) {}

  /** The user's memories, newest first. */
  async memories(caller: Caller, userId: string): Promise<MemoryRecord[]> {
    const { userId: ownerId } = requireUser(caller);
    if (ownerId !== userId) throw forbidden('You can only read your own memories');
    return this.context.repositories.memories.memories(ownerId);
  }

  async remember(caller: Caller, text: string): Promise<MemoryRecord> {
    const { userId: ownerId } = requireUser(caller);
    const trimmed = text.trim();
    if (trimmed.length < 1 || trimmed.length > MEMORY_MAX_CHARS) {
      throw badUserInput('text', `text must be 1 to ${MEMORY_MAX_CHARS} characters`);
    }
    return this.context.repositories.withTransaction(async ({ memories }) => {
      await memories.lockOwner(ownerId);
      if ((await memories.count(ownerId)) >= MAX_MEMORIES) {
        throw badUserInput('text', `You can keep at most ${MAX_MEMORIES} memories; forget one first`);
      }
      return memories.insert(ownerId, trimmed);
    });
  }

  /** Another user's memory is NOT_FOUND, exactly like a missing one. */
  async forget(caller: Caller, id: string): Promise<string> {
    const { userId: ownerId } = requireUser(caller);
    if (!isUuid(id) || !(await this.context.repositories.memories.delete(ownerId, id))) {
      throw notFound('Memory');
    }
    return id;
  }

  async recallEnabled(caller: Caller, userId: string): Promise<boolean> {
    const { userId: ownerId } = requireUser(caller);
    if (ownerId !== userId) throw forbidden('You can only read your own settings');
    return (await this.context.repositories.memories.recallEnabled(ownerId)) ?? true;
  }

  async setRecallEnabled(caller: Caller, enabled: boolean): Promise<boolean> {
    const { userId: ownerId } = requireUser(caller);
    await this.context.repositories.memories.saveRecallEnabled(ownerId, enabled);
    return enabled;
  }
}
