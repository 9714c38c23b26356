const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * The end-of-run scan of every log the test run produced (docs/security.md#log-hygiene): services
 * started by tests write to the run's log directory (common/testing/run-log.ts), and no line may
 * carry a secret. Each rule names what it found; the line itself is never printed whole.
 */

/** Set by test/global-setup.ts (RUN_LOG_DIR_VARIABLE in common/testing/run-log.ts). */
const RUN_LOG_DIR_VARIABLE = 'TEST_RUN_LOG_DIR';

/** common/testing/env.ts: the identity HMAC secret every test service shares. */
const TEST_IDENTITY_SECRET = 'test-identity-secret-0123456789abcdef';

const RULES = [
  { what: 'a password hash', pattern: /\$argon2(?:id|i|d)\$/ },
  { what: 'an access token (JWT)', pattern: /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}/ },
  { what: 'a signed identity header', pattern: /\bv\d+\.eyJ[\w-]{8,}\.[\w-]{20,}/ },
  {
    what: 'a refresh or reset token (43 base64url characters)',
    // 256 random bits as base64url; not a part of a dotted token, not a key id (a thumbprint).
    pattern: /(?<![\w.-]|kid\\?":\\?")(?=[\w-]*\d)(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[\w-]{43}(?![\w.-])/,
  },
  { what: 'a private key (PEM)', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: 'a private JWK member', pattern: /\\?"(?:d|p|q|dp|dq|qi)\\?"\s*:\s*\\?"[\w-]{16,}/ },
  { what: 'the identity secret', pattern: new RegExp(TEST_IDENTITY_SECRET) },
  {
    what: 'an SQL statement with values',
    pattern: /\b(?:insert into|update|delete from|select)\s[^\n]*?\b(?:values|where|set)\b[^\n]*?'/i,
  },
  { what: 'an SQL parameter list', pattern: /\\?"(?:params|bindings|parameters)\\?"\s*:\s*\[/ },
  { what: 'a value from a PostgreSQL error detail', pattern: /\bKey \([^)]*\)=\(/ },
];

/** Every secret-looking line in the run's logs, as `{ file, line, what, excerpt }`. */
function scanRunLogs(dir = process.env[RUN_LOG_DIR_VARIABLE]) {
  if (!dir) return [];
  const findings = [];
  let files;
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  for (const file of files) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    lines.forEach((text, index) => {
      for (const { what, pattern } of RULES) {
        const match = pattern.exec(text);
        if (!match) continue;
        const start = Math.max(0, match.index - 60);
        const excerpt = `${text.slice(start, match.index)}<${what}>`.replace(/\s+/g, ' ');
        findings.push({ file, line: index + 1, what, excerpt });
      }
    });
  }
  return findings;
}

module.exports = { scanRunLogs, RULES };
