import { Migration20261127000100_conversations } from './Migration20261127000100_conversations';

/** Applied in order; never edit one that has shipped, add a new one. */
export const conversationMigrations = [
  { name: 'Migration20261127000100_conversations', class: Migration20261127000100_conversations },
];
