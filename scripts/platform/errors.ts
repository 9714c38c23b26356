/**
 * An error's message, with its cause's appended: Node's fetch only says "fetch failed" and keeps
 * the useful part (ECONNREFUSED, a DNS failure...) in `cause`. Duck-typed rather than
 * `instanceof Error`, which fails for errors made in another realm (Node's own fetch under jest).
 */
export function errorMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('message' in error)) return String(error);
  const message = String(error.message);
  return 'cause' in error && error.cause !== undefined
    ? `${message} (${errorMessage(error.cause)})`
    : message;
}
