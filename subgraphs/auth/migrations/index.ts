import { Migration20261127000000_users } from './Migration20261127000000_users';

/** Applied in order; never edit one that has shipped, add a new one. */
export const authMigrations = [
  { name: 'Migration20261127000000_users', class: Migration20261127000000_users },
];
