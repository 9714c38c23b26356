import type { EntityManager } from '@mikro-orm/postgresql';
import { callerId } from '../../../common/identity/authorization';
import { badUserInput, notFound } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import type { Identity } from '../../../common/identity/identity';
import { Role, UserEntity } from '../store/entities/user.entity';
import type { SessionService } from './session.service';

/** Role changes by an admin. */
export class RoleService {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionService,
  ) {}

  /**
   * A promotion shows in the user's next access token (at their next refresh). A demotion signs
   * them out everywhere first, since their current tokens still carry the old role. Either way the
   * role is the operator's from now on: ADMIN_EMAILS never changes it again.
   */
  async setRole(caller: Identity, userId: string, role: Role): Promise<UserEntity> {
    if (userId === callerId(caller)) {
      throw badUserInput('userId', 'You cannot change your own role; ask another admin');
    }
    const em = this.em.fork();
    const user = isUuid(userId) ? await em.findOne(UserEntity, { id: userId }) : null;
    if (!user) throw notFound('User');
    if (user.role === Role.ADMIN && role !== Role.ADMIN) await this.sessions.revokeAllOf(user.id);
    user.role = role;
    user.roleSetAt = new Date();
    await em.flush();
    return user;
  }
}
