import { badUserInput } from '../../../common/errors/errors';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const EMAIL_MAX_LENGTH = 320;
const DISPLAY_NAME_MAX_LENGTH = 100;

/** Emails are compared trimmed and case-insensitively, so they are stored that way. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function checkEmail(email: string, field: string): string {
  const normalized = normalizeEmail(email);
  if (normalized.length > EMAIL_MAX_LENGTH || !EMAIL.test(normalized)) {
    throw badUserInput(field, 'Enter a valid email address');
  }
  return normalized;
}

export function checkDisplayName(displayName: string, field: string): string {
  const trimmed = displayName.trim();
  if (trimmed.length === 0 || [...trimmed].length > DISPLAY_NAME_MAX_LENGTH) {
    throw badUserInput(field, `The display name must have 1 to ${DISPLAY_NAME_MAX_LENGTH} characters`);
  }
  return trimmed;
}
