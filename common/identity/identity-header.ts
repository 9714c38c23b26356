/**
 * The HTTP header that carries the signed identity (docs/protocol.md, "Signed identity"). A module of
 * its own so that the logger can redact it without an import cycle (identity.ts imports the errors,
 * which import the logger).
 */
export const IDENTITY_HEADER = 'x-identity';
