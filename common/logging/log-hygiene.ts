/**
 * What of an error may reach the log (docs/security.md#log-hygiene). The standard pino error
 * serializer copies every property of an error; a database driver's error carries the SQL with its
 * parameters in its message (MikroORM inlines them, knex prefixes the statement) and the values in
 * `detail` ("Key (email)=(…) already exists"), and a Redis client's carries the command's
 * arguments. So errors are logged by allowlist: their type, code and a scrubbed message and stack;
 * a database error by its SQLSTATE and the names of what it concerns, never its text.
 */

/** Secrets with a recognisable shape, replaced wherever a free-text message might carry them. */
const SECRET_SHAPES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g, '[key]'],
  [/\$argon2[a-z]*\$[^\s"',;)]*/g, '[password hash]'],
  [/\bv\d+\.eyJ[\w-]*\.[\w-]+/g, '[identity]'],
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]+/g, '[token]'],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, '$1 [redacted]'],
  // A statement a driver put in a message ("insert into … values ('…') - duplicate key …").
  [
    /\b(?:(?:select|with)\b[^\n]*?\b(?:from|as)|insert\s+into|update|delete\s+from)\s+"[\s\S]*?(?= - |$)/gi,
    '[sql]',
  ],
  [/\bKey \([^)]*\)=\([^)]*\)/g, 'Key [redacted]'],
];

export function scrubSecrets(text: string): string {
  return SECRET_SHAPES.reduce((scrubbed, [shape, replacement]) => scrubbed.replace(shape, replacement), text);
}

/** PostgreSQL's error fields (pg's DatabaseError, copied onto MikroORM's DriverException). */
interface DatabaseErrorFields {
  code?: unknown;
  sqlState?: unknown;
  severity?: unknown;
  routine?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
}

const isDatabaseError = (error: Error & DatabaseErrorFields): boolean =>
  typeof error.sqlState === 'string' ||
  (typeof error.severity === 'string' && typeof error.routine === 'string') ||
  /Exception$/.test(error.name);

const stackFrames = (stack: string | undefined): string | undefined =>
  stack
    ?.split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .join('\n');

const names = (error: DatabaseErrorFields) =>
  Object.fromEntries(
    (['constraint', 'table', 'column'] as const).flatMap((key) =>
      typeof error[key] === 'string' ? [[key, error[key]]] : [],
    ),
  );

const MAX_CAUSES = 3;

function errorRecord(error: Error, depth: number): Record<string, unknown> {
  const fields = error as Error & DatabaseErrorFields & { cause?: unknown; originalError?: unknown };
  const code = fields.sqlState ?? fields.code;
  const record: Record<string, unknown> = { type: error.name ?? error.constructor.name };
  if (typeof code === 'string' || typeof code === 'number') record.code = code;
  if (isDatabaseError(fields)) {
    // The message is the statement with its parameters; the frames say where it came from.
    return { ...record, message: 'database error', ...names(fields), stack: stackFrames(error.stack) };
  }
  record.message = scrubSecrets(error.message);
  if (error.stack) record.stack = scrubSecrets(error.stack);
  const cause = fields.cause ?? fields.originalError;
  if (cause !== undefined && depth < MAX_CAUSES) record.cause = serializeError(cause, depth + 1);
  return record;
}

const isErrorLike = (value: object): value is Error =>
  value instanceof Error || typeof (value as { message?: unknown }).message === 'string';

/**
 * pino's serializer for `err`: an Error or an error-like object (a subgraph's error as the
 * gateway got it), or a message string some callers log instead.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (isErrorLike(value)) return errorRecord(value, depth);
  return `[${Object.prototype.toString.call(value).slice(8, -1)}]`;
}
