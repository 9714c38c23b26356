import type { Role } from '../../../common/identity/roles';

/** An account as services, caches and resolvers see it: never its password hash. */
export interface UserRecord {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  createdAt: Date;
  /** When its owner proved they receive mail at `email` (a verification link, or a password reset). */
  emailVerifiedAt: Date | null;
}

/** An account with its password hash, read only to check or replace the password. */
export interface UserCredentials {
  user: UserRecord;
  /** argon2id, in its self-describing PHC string format. */
  passwordHash: string;
}

/** Users are listed oldest first, the id breaking ties: a place in that order. */
export interface UserPosition {
  createdAt: Date;
  id: string;
}
