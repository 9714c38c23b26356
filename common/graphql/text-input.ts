import { badUserInput } from '../errors/errors';

/**
 * Text a client may send: no C0 control characters (NUL above all, which PostgreSQL refuses) nor
 * DEL, and well-formed UTF-16 (a lone surrogate cannot be stored as UTF-8). Text that may span
 * lines (a message, a search query, a password) may also hold tabs, line feeds and carriage returns.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const TAB_OR_LINE_BREAK = /[\t\n\r]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface TextRules {
  /** Tabs, line feeds and carriage returns are allowed (multi-line text). */
  lineBreaks: boolean;
}

/** Why `value` is not acceptable text, or null when it is. */
export function textProblem(value: string, rules: TextRules): string | null {
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it holds a lone surrogate)';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (!rules.lineBreaks && TAB_OR_LINE_BREAK.test(value)) return 'must be a single line, without tabs';
  return null;
}

const CONTROL_EVERYWHERE = new RegExp(CONTROL.source, 'g');

/**
 * `text` without the control characters textProblem refuses (tabs and line breaks stay): for text
 * the platform makes rather than receives from a client, such as a model's reply, which must be
 * stored however the model was led to write it.
 */
export const withoutControlCharacters = (text: string): string => text.replace(CONTROL_EVERYWHERE, '');

/** Throws BAD_USER_INPUT naming `field` when `value` is not acceptable text. */
export function assertText(value: string, field: string, rules: TextRules): void {
  const problem = textProblem(value, rules);
  if (problem) throw badUserInput(field, `${field} ${problem}`);
}
