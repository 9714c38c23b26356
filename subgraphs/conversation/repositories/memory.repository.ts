import type { EntityManager } from '@mikro-orm/postgresql';
import type { MemoryRecord } from '../records/memory.record';
import { MemoryEntity } from '../store/entities/memory.entity';
import { UserRecallEntity } from '../store/entities/user-recall.entity';

/** The most memories one user may keep (the `memories` list is bounded by it). */
export const MAX_MEMORIES = 200;

const toMemory = (entity: MemoryEntity): MemoryRecord => ({
  id: entity.id,
  ownerId: entity.ownerId,
  text: entity.text,
  createdAt: entity.createdAt,
});

/** The only code that touches `memories` and `user_recall`. */
export class MemoryRepository {
  constructor(private readonly em: EntityManager) {}

  /** The owner's memories, newest first. */
  async memories(ownerId: string): Promise<MemoryRecord[]> {
    const rows = await this.em.find(
      MemoryEntity,
      { ownerId },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: MAX_MEMORIES, disableIdentityMap: true },
    );
    return rows.map(toMemory);
  }

  /**
   * Holds, until the transaction ends, the owner's lock on their memories: two `remember`s cannot
   * both take the last free place. Only inside `withTransaction`.
   */
  async lockOwner(ownerId: string): Promise<void> {
    await this.em.execute(`select pg_advisory_xact_lock(hashtext(current_schema() || '.memories:' || ?))`, [
      ownerId,
    ]);
  }

  async count(ownerId: string): Promise<number> {
    return this.em.count(MemoryEntity, { ownerId });
  }

  async insert(ownerId: string, text: string): Promise<MemoryRecord> {
    const entity = this.em.create(MemoryEntity, { ownerId, text });
    await this.em.insert(MemoryEntity, entity);
    return toMemory(entity);
  }

  /** False when the memory is not the owner's (or is gone). */
  async delete(ownerId: string, id: string): Promise<boolean> {
    return (await this.em.nativeDelete(MemoryEntity, { id, ownerId })) > 0;
  }

  /** The owner's switch for recall; null when they never set it. */
  async recallEnabled(ownerId: string): Promise<boolean | null> {
    const row = await this.em.findOne(UserRecallEntity, { ownerId }, { disableIdentityMap: true });
    return row?.recallEnabled ?? null;
  }

  async saveRecallEnabled(ownerId: string, recallEnabled: boolean): Promise<void> {
    await this.em.upsert(UserRecallEntity, { ownerId, recallEnabled, updatedAt: new Date() });
  }
}
