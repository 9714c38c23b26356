import type { UserRepository } from '../repositories/user.repository';
import { normalizeEmail } from './account-input';

/**
 * ADMIN_EMAILS. Registering an address proves nothing, so a listed address makes an admin only once
 * its owner has verified it, and only once: an account whose role an operator (or this list) has
 * set already is left as it is, so a demotion outlives every restart.
 */
export class AdminEmails {
  /** Normalized, each once; a verification or a reset applies them as it confirms an address. */
  readonly emails: readonly string[];

  constructor(
    emails: readonly string[],
    private readonly users: UserRepository,
  ) {
    this.emails = [...new Set(emails.map(normalizeEmail))];
  }

  /**
   * At start: promotes the listed accounts that are verified and whose role nobody has set yet
   * (accounts verified while no auth listed them, or before they were listed); their ids.
   */
  promoteVerified(): Promise<string[]> {
    return this.users.promoteListed(this.emails);
  }
}
