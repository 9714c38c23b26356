/** A server the platform keeps data in: where to reach it, and how to let go of it. */
export interface DataStore {
  url: string;
  /** The server's process id when this process started it (a benchmark reads its CPU, fault tests signal it). */
  pid?: number;
  /** Stops the server if this process started it; a server that was already running is left alone. */
  stop(): Promise<void>;
}

/** A server someone else runs (its URL came from the environment): there is nothing to stop. */
export function externalDataStore(url: string): DataStore {
  return { url, stop: async () => undefined };
}

/** The URL with its password masked, so error messages and logs can show where a server was expected. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a valid URL)';
  }
}
