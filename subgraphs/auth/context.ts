import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { BaseContext } from '../../common/subgraph-server';
import type { UserEntity } from './entities/user.entity';
import { UserService } from './services/user.service';

export interface AuthContext extends BaseContext {
  users: UserService;
  userById: DataLoader<string, UserEntity | null>;
}

/** A fresh EntityManager fork and DataLoaders per request, so nothing leaks between callers. */
export function createAuthContext(em: EntityManager, base: BaseContext): AuthContext {
  const users = new UserService(em.fork());
  return { ...base, users, userById: new DataLoader((ids) => users.findByIds(ids)) };
}
