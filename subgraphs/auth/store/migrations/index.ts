import { Migration20261127000000_users } from './Migration20261127000000_users';
import { Migration20261127001000_accounts } from './Migration20261127001000_accounts';
import { Migration20261205000000_email_verification } from './Migration20261205000000_email_verification';

/** Applied in order; never edit one that has shipped, add a new one. */
export const authMigrations = [
  { name: 'Migration20261127000000_users', class: Migration20261127000000_users },
  { name: 'Migration20261127001000_accounts', class: Migration20261127001000_accounts },
  {
    name: 'Migration20261205000000_email_verification',
    class: Migration20261205000000_email_verification,
  },
];
