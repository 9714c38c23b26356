import DataLoader from 'dataloader';
import type { BaseContext } from '../../common/server/subgraph-server';
import type { UserRecord } from './records/user.record';
import type { AccountService } from './services/account.service';
import type { EmailVerificationService } from './services/email-verification.service';
import type { PasswordResetService } from './services/password-reset.service';
import type { RoleService } from './services/role.service';
import type { SessionService } from './services/session.service';
import type { UserService } from './services/user.service';

/** The auth subgraph's services; each opens its own unit of work per call. */
export interface AuthServices {
  accounts: AccountService;
  sessions: SessionService;
  passwordResets: PasswordResetService;
  verification: EmailVerificationService;
  users: UserService;
  roles: RoleService;
}

export interface AuthContext extends BaseContext {
  services: AuthServices;
  /** Per request, so fetches for many users cost one query and nothing leaks between callers. */
  userById: DataLoader<string, UserRecord | null>;
  /**
   * Accounts this request signed in (register, login, refreshToken answer them): the caller is
   * anonymous until its next request, yet the account is theirs to read.
   */
  signedIn: WeakSet<UserRecord>;
}

export function createAuthContext(services: AuthServices, base: BaseContext): AuthContext {
  return {
    ...base,
    services,
    userById: new DataLoader((ids) => services.users.findByIds(ids)),
    signedIn: new WeakSet(),
  };
}
