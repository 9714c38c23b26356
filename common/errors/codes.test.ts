import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCode, httpStatusOf, isErrorCode } from './codes';

const ERRORS_DOC = join(__dirname, '../../docs/errors.md');

/** The cells of each row of the markdown tables in a page whose first cell is a code in backticks. */
function codeRowsOf(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z_]+`\s*\|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

describe('the error code table', () => {
  it('is the table docs/errors.md shows, row for row', () => {
    const expected = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
      const { origin, status, retryable, meaning } = ERROR_CODES[code];
      return [`\`${code}\``, origin, String(status), retryable ? 'yes' : 'no', meaning];
    });
    // A change to common/errors/codes.ts goes into docs/errors.md too.
    expect(codeRowsOf(readFileSync(ERRORS_DOC, 'utf8'))).toEqual(expected);
  });

  it('knows its codes and nothing else', () => {
    expect(isErrorCode('UPSTREAM_UNAVAILABLE')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
    expect(httpStatusOf('RATE_LIMITED')).toBe(429);
  });
});
