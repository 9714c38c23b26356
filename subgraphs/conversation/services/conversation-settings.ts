import { badUserInput } from '../../../common/errors/errors';
import type { PublishedModel } from '../../../common/stores/published-model-catalog';
import {
  checkWithinModelLimit,
  type ConversationSettings,
} from '../../../common/records/conversation-settings.record';

/** Bounds every model accepts; a model's own limits are checked by checkAgainstModels. */
export const SETTINGS_LIMITS = {
  modelMaxChars: 200,
  systemPromptMaxChars: 8_000,
  temperature: { min: 0, max: 2 },
  topP: { min: 0, max: 1 },
  maxOutputTokens: { min: 1, max: 65_536 },
} as const;

/** A change of settings: an absent field stays as it is, a null one goes back to the default. */
export type SettingsChange = { [K in keyof ConversationSettings]?: ConversationSettings[K] | null };

function checkRange(field: string, value: number, min: number, max: number, integer = false): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw badUserInput(field, `${field} must be ${integer ? 'an integer ' : ''}from ${min} to ${max}`);
  }
}

/**
 * The settings after `change`, each field checked; throws BAD_USER_INPUT naming the first field
 * out of range (its path under `prefix`), before anything is stored.
 */
export function applySettingsChange(
  current: ConversationSettings,
  change: SettingsChange,
  prefix = 'settings',
): ConversationSettings {
  const next = { ...current };
  if (change.model !== undefined) {
    const model = change.model?.trim() ?? null;
    if (model !== null && (model.length < 1 || model.length > SETTINGS_LIMITS.modelMaxChars)) {
      throw badUserInput(`${prefix}.model`, `model must be 1 to ${SETTINGS_LIMITS.modelMaxChars} characters`);
    }
    next.model = model;
  }
  if (change.systemPrompt !== undefined) {
    const prompt = change.systemPrompt;
    if (prompt !== null && prompt.length > SETTINGS_LIMITS.systemPromptMaxChars) {
      throw badUserInput(
        `${prefix}.systemPrompt`,
        `systemPrompt must be at most ${SETTINGS_LIMITS.systemPromptMaxChars} characters`,
      );
    }
    next.systemPrompt = prompt;
  }
  if (change.temperature !== undefined) {
    const { min, max } = SETTINGS_LIMITS.temperature;
    if (change.temperature !== null) checkRange(`${prefix}.temperature`, change.temperature, min, max);
    next.temperature = change.temperature;
  }
  if (change.topP !== undefined) {
    const { min, max } = SETTINGS_LIMITS.topP;
    if (change.topP !== null) checkRange(`${prefix}.topP`, change.topP, min, max);
    next.topP = change.topP;
  }
  if (change.maxOutputTokens !== undefined) {
    const { min, max } = SETTINGS_LIMITS.maxOutputTokens;
    if (change.maxOutputTokens !== null)
      checkRange(`${prefix}.maxOutputTokens`, change.maxOutputTokens, min, max, true);
    next.maxOutputTokens = change.maxOutputTokens;
  }
  if (change.recallEnabled !== undefined) next.recallEnabled = change.recallEnabled ?? true;
  if (change.instructionsEnabled !== undefined) next.instructionsEnabled = change.instructionsEnabled ?? true;
  return next;
}

/** Whether a change touches what depends on the model (so it is checked against the catalog). */
export const changesModelLimits = (change: SettingsChange): boolean =>
  change.model !== undefined || change.temperature !== undefined || change.maxOutputTokens !== undefined;

/**
 * Checks settings against the models chat published (null: none published, nothing to check): the
 * model exists (a stored id without a namespace names the first model of that name, as chat reads
 * it), and the temperature and output limit are within that model's, or the default model's when
 * none is set. A model whose provider is down is accepted: it may come back, and chat refuses to
 * send to it meanwhile. Throws BAD_USER_INPUT naming the field under `prefix`, before anything is stored.
 */
export function checkAgainstModels(
  settings: ConversationSettings,
  models: readonly PublishedModel[] | null,
  prefix = 'settings',
): void {
  if (models === null) return;
  const model =
    settings.model === null
      ? models.find((candidate) => candidate.isDefault)
      : (models.find((candidate) => candidate.id === settings.model) ??
        models.find((candidate) => candidate.name === settings.model));
  if (settings.model !== null && !model) {
    throw badUserInput(
      `${prefix}.model`,
      `Unknown model "${settings.model}"; the models query lists the available ones`,
    );
  }
  if (!model) return;
  checkWithinModelLimit(`${prefix}.temperature`, settings.temperature, model.maxTemperature, model.id);
  checkWithinModelLimit(
    `${prefix}.maxOutputTokens`,
    settings.maxOutputTokens,
    model.maxOutputTokens,
    model.id,
  );
}
