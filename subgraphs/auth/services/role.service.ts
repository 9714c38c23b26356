import { badUserInput, notFound } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import type { Role } from '../../../common/identity/roles';
import { isUuid } from '../../../common/util/ids';
import type { UserRecord } from '../records/user.record';
import type { UserRepository } from '../repositories/user.repository';
import type { SessionService } from './session.service';

/** Role changes by an admin. */
export class RoleService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionService,
  ) {}

  /**
   * A promotion shows in the user's next access token (at their next refresh). A demotion signs
   * them out everywhere first, since their current tokens still carry the old role. Either way the
   * role is the operator's from now on: ADMIN_EMAILS never changes it again.
   */
  async setRole(caller: Caller, userId: string, role: Role): Promise<UserRecord> {
    if (userId === requireUser(caller).userId) {
      throw badUserInput('userId', 'You cannot change your own role; ask another admin');
    }
    const user = isUuid(userId) ? await this.users.findById(userId) : null;
    if (!user) throw notFound('User');
    if (user.role === 'ADMIN' && role !== 'ADMIN') await this.sessions.revokeAllOf(user.id);
    const updated = await this.users.setRole(user.id, role);
    if (!updated) throw notFound('User');
    return updated;
  }
}
