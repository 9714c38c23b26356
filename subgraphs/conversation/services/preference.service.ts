import { badUserInput, forbidden, notFound } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import { isUuid } from '../../../common/util/ids';
import { DEFAULT_CONVERSATION_SETTINGS } from '../../../common/records/conversation-settings.record';
import type { InstructionsRecord, PresetRecord } from '../records/preference.record';
import { MAX_PRESETS } from '../repositories/preference.repository';
import {
  applySettingsChange,
  changesModelLimits,
  checkAgainstModels,
  type SettingsChange,
} from './conversation-settings';
import type { ServiceContext } from './service-context';

export const INSTRUCTIONS_MAX_CHARS = 4_000;
export const PRESET_NAME_MAX_CHARS = 100;

const NO_INSTRUCTIONS: InstructionsRecord = { aboutMe: '', howToAnswer: '' };

export interface PresetChange {
  name?: string | null;
  settings?: SettingsChange | null;
}

function normaliseName(name: string | null | undefined): string {
  const trimmed = name?.trim() ?? '';
  if (trimmed.length < 1 || trimmed.length > PRESET_NAME_MAX_CHARS) {
    throw badUserInput('name', `name must be 1 to ${PRESET_NAME_MAX_CHARS} characters`);
  }
  return trimmed;
}

function checkInstruction(field: keyof InstructionsRecord, value: string): string {
  if (value.length > INSTRUCTIONS_MAX_CHARS) {
    throw badUserInput(field, `${field} must be at most ${INSTRUCTIONS_MAX_CHARS} characters`);
  }
  return value;
}

/** A user's custom instructions and presets: each user reads and changes only their own. */
export class PreferenceService {
  constructor(private readonly context: ServiceContext) {}

  async instructions(caller: Caller, userId: string): Promise<InstructionsRecord> {
    const { userId: ownerId } = requireUser(caller);
    if (ownerId !== userId) throw forbidden('You can only read your own instructions');
    return (await this.context.repositories.preferences.instructions(ownerId)) ?? NO_INSTRUCTIONS;
  }

  /** An absent field stays as it is; '' clears it. */
  async updateInstructions(
    caller: Caller,
    change: Partial<Record<keyof InstructionsRecord, string | null>>,
  ): Promise<InstructionsRecord> {
    const { userId: ownerId } = requireUser(caller);
    const current = await this.instructions(caller, ownerId);
    const next = {
      aboutMe: checkInstruction('aboutMe', change.aboutMe ?? current.aboutMe),
      howToAnswer: checkInstruction('howToAnswer', change.howToAnswer ?? current.howToAnswer),
    };
    await this.context.repositories.preferences.saveInstructions(ownerId, next);
    return next;
  }

  presets(caller: Caller): Promise<PresetRecord[]> {
    const { userId: ownerId } = requireUser(caller);
    return this.context.repositories.preferences.presets(ownerId);
  }

  /** The caller's preset; another user's is NOT_FOUND, exactly like a missing one. */
  async preset(caller: Caller, id: string): Promise<PresetRecord> {
    const { userId: ownerId } = requireUser(caller);
    const preset = isUuid(id) ? await this.context.repositories.preferences.preset(ownerId, id) : null;
    if (!preset) throw notFound('Preset');
    return preset;
  }

  async createPreset(caller: Caller, input: PresetChange): Promise<PresetRecord> {
    const { userId: ownerId } = requireUser(caller);
    const name = normaliseName(input.name);
    const settings = applySettingsChange(DEFAULT_CONVERSATION_SETTINGS, input.settings ?? {});
    checkAgainstModels(settings, await this.context.models.models());
    return this.context.repositories.withTransaction(async ({ preferences }) => {
      if ((await preferences.countPresets(ownerId)) >= MAX_PRESETS) {
        throw badUserInput('name', `You can keep at most ${MAX_PRESETS} presets; delete one first`);
      }
      return preferences.insertPreset(ownerId, name, settings);
    });
  }

  async updatePreset(caller: Caller, id: string, change: PresetChange): Promise<PresetRecord> {
    const { userId: ownerId } = requireUser(caller);
    const current = await this.preset(caller, id);
    const name = change.name === undefined ? current.name : normaliseName(change.name);
    const settings = applySettingsChange(current.settings, change.settings ?? {});
    if (change.settings && changesModelLimits(change.settings))
      checkAgainstModels(settings, await this.context.models.models());
    if (!(await this.context.repositories.preferences.updatePreset(ownerId, id, name, settings))) {
      throw notFound('Preset');
    }
    return this.preset(caller, id);
  }

  async deletePreset(caller: Caller, id: string): Promise<string> {
    const { userId: ownerId } = requireUser(caller);
    if (!isUuid(id) || !(await this.context.repositories.preferences.deletePreset(ownerId, id))) {
      throw notFound('Preset');
    }
    return id;
  }
}
