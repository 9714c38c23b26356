import { Migration20261127000100_conversations } from './Migration20261127000100_conversations';
import { Migration20261127000200_messages } from './Migration20261127000200_messages';
import { Migration20261206000100_conversation_settings } from './Migration20261206000100_conversation_settings';
import { Migration20261206000200_instructions_presets } from './Migration20261206000200_instructions_presets';
import { Migration20261206000300_memories } from './Migration20261206000300_memories';

/** Applied in order; never edit one that has shipped, add a new one. */
export const conversationMigrations = [
  { name: 'Migration20261127000100_conversations', class: Migration20261127000100_conversations },
  { name: 'Migration20261127000200_messages', class: Migration20261127000200_messages },
  {
    name: 'Migration20261206000100_conversation_settings',
    class: Migration20261206000100_conversation_settings,
  },
  {
    name: 'Migration20261206000200_instructions_presets',
    class: Migration20261206000200_instructions_presets,
  },
  { name: 'Migration20261206000300_memories', class: Migration20261206000300_memories },
];
