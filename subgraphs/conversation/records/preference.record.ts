import type { ConversationSettings } from '../../../common/records/conversation-settings.record';

/** A user's custom instructions; '' where they wrote nothing. */
export interface InstructionsRecord {
  aboutMe: string;
  howToAnswer: string;
}

/** A named bundle of settings a conversation can be created from. */
export interface PresetRecord {
  id: string;
  ownerId: string;
  name: string;
  settings: ConversationSettings;
  createdAt: Date;
  updatedAt: Date;
}
