import type { EntityManager } from '@mikro-orm/postgresql';
import { UserEntity } from '../entities/user.entity';

export class UserService {
  constructor(private readonly em: EntityManager) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.em.findOne(UserEntity, { id });
  }

  /** One query for many ids, in the order asked, null where missing (for DataLoader). */
  async findByIds(ids: readonly string[]): Promise<(UserEntity | null)[]> {
    const users = await this.em.find(UserEntity, { id: { $in: [...ids] } });
    const byId = new Map(users.map((user) => [user.id, user]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
