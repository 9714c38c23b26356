import { assertText, textProblem, withoutControlCharacters } from './text-input';

const oneLine = { lineBreaks: false };
const multiline = { lineBreaks: true };

describe('text input', () => {
  it('accepts ordinary text, emoji and other scripts', () => {
    for (const text of ['Hello', 'Grüße, 世界 👋🏽', '', 'a "quoted" \\ backslash']) {
      expect(textProblem(text, oneLine)).toBeNull();
    }
  });

  it('refuses NUL and every other C0 control character, and DEL', () => {
    for (const code of [0, 1, 7, 8, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f]) {
      expect(textProblem(`a${String.fromCharCode(code)}b`, multiline)).toMatch(/control characters/);
    }
  });

  it('allows tabs and line breaks only in multi-line text', () => {
    for (const text of ['two\nlines', 'tab\there', 'windows\r\nlines']) {
      expect(textProblem(text, multiline)).toBeNull();
      expect(textProblem(text, oneLine)).toMatch(/single line/);
    }
  });

  it('refuses lone surrogates, high or low, and keeps pairs', () => {
    expect(textProblem('a\ud83dz', multiline)).toMatch(/lone surrogate/);
    expect(textProblem('a\udc4bz', multiline)).toMatch(/lone surrogate/);
    expect(textProblem('\ud83d', multiline)).toMatch(/lone surrogate/);
    expect(textProblem('\ud83d\udc4b', multiline)).toBeNull();
  });

  it('leaves out every character it refuses from text the platform makes, keeping tabs and line breaks', () => {
    const made = withoutControlCharacters('\u001b[1mbold\u001b[0m\u0000, a\tb\r\nc\u007f');
    expect(made).toBe('[1mbold[0m, a\tb\r\nc');
    expect(textProblem(made, multiline)).toBeNull();
  });

  it('throws BAD_USER_INPUT naming the field', () => {
    expect(() => assertText('a\u0000', 'title', oneLine)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'title' } }),
    );
  });
});
