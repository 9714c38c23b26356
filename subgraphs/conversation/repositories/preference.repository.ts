import type { EntityManager } from '@mikro-orm/postgresql';
import type { ConversationSettings } from '../../../common/records/conversation-settings.record';
import type { InstructionsRecord, PresetRecord } from '../records/preference.record';
import { PresetEntity } from '../store/entities/preset.entity';
import { UserInstructionsEntity } from '../store/entities/user-instructions.entity';

/** The most presets one user may keep (the `presets` list is bounded by it). */
export const MAX_PRESETS = 50;

const toPreset = (entity: PresetEntity): PresetRecord => ({
  id: entity.id,
  ownerId: entity.ownerId,
  name: entity.name,
  settings: {
    model: entity.model,
    systemPrompt: entity.systemPrompt,
    temperature: entity.temperature,
    topP: entity.topP,
    maxOutputTokens: entity.maxOutputTokens,
    recallEnabled: entity.recallEnabled,
    instructionsEnabled: entity.instructionsEnabled,
  },
  createdAt: entity.createdAt,
  updatedAt: entity.updatedAt,
});

/** The only code that touches `user_instructions` and `presets`. */
export class PreferenceRepository {
  constructor(private readonly em: EntityManager) {}

  async instructions(ownerId: string): Promise<InstructionsRecord | null> {
    const row = await this.em.findOne(UserInstructionsEntity, { ownerId }, { disableIdentityMap: true });
    return row && { aboutMe: row.aboutMe, howToAnswer: row.howToAnswer };
  }

  async saveInstructions(ownerId: string, instructions: InstructionsRecord): Promise<void> {
    await this.em.upsert(UserInstructionsEntity, { ownerId, ...instructions, updatedAt: new Date() });
  }

  async presets(ownerId: string): Promise<PresetRecord[]> {
    const rows = await this.em.find(
      PresetEntity,
      { ownerId },
      { orderBy: { createdAt: 'asc', id: 'asc' }, limit: MAX_PRESETS, disableIdentityMap: true },
    );
    return rows.map(toPreset);
  }

  async countPresets(ownerId: string): Promise<number> {
    return this.em.count(PresetEntity, { ownerId });
  }

  async preset(ownerId: string, id: string): Promise<PresetRecord | null> {
    const row = await this.em.findOne(PresetEntity, { id, ownerId }, { disableIdentityMap: true });
    return row && toPreset(row);
  }

  async insertPreset(ownerId: string, name: string, settings: ConversationSettings): Promise<PresetRecord> {
    const entity = this.em.create(PresetEntity, { ownerId, name, ...settings });
    await this.em.insert(PresetEntity, entity);
    return toPreset(entity);
  }

  /** False when the preset is not the owner's (or is gone). */
  async updatePreset(
    ownerId: string,
    id: string,
    name: string,
    settings: ConversationSettings,
  ): Promise<boolean> {
    const updated = await this.em.nativeUpdate(
      PresetEntity,
      { id, ownerId },
      { name, ...settings, updatedAt: new Date() },
    );
    return updated > 0;
  }

  async deletePreset(ownerId: string, id: string): Promise<boolean> {
    return (await this.em.nativeDelete(PresetEntity, { id, ownerId })) > 0;
  }
}
