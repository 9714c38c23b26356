import { badUserInput } from '../../../common/errors/errors';
import commonPasswords from './common-passwords.json';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

/** Well-known passwords of the allowed length (shorter ones fail the length rule anyway). */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(commonPasswords);

/** Throws BAD_USER_INPUT naming `field` when a new password breaks the policy. */
export function checkNewPassword(password: string, field: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw badUserInput(field, `The password must have at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw badUserInput(field, `The password must have at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  if (COMMON_PASSWORDS.has(password.trim().toLowerCase())) {
    throw badUserInput(field, 'This password is too common; choose one that is harder to guess');
  }
}
