import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Where the gateway reads its supergraph, and how it hears that it may have changed. */
export interface SupergraphSource {
  /** `file <path>` or `url <url>`, for logs, metrics and /health/all. */
  readonly description: string;
  /** The supergraph as it is now; undefined when the source says it has not changed since the last read. */
  read(): Promise<string | undefined>;
  /** Calls `changed` whenever the supergraph may have changed (it is then read); returns how to stop. */
  watch(changed: () => void): () => void;
}

/** A burst of file events (a write in several parts, a rename) is read once, after it settles. */
const FILE_EVENT_SETTLE_MS = 50;

/**
 * A supergraph file. `fs.watch` on its folder sees it written or replaced (an atomic rename makes a
 * new file, which a watch on the file itself would miss); a poll every `pollIntervalMs` covers the
 * file systems where `fs.watch` says nothing (network and some container mounts).
 */
export function fileSource(path: string, pollIntervalMs: number): SupergraphSource {
  return {
    description: `file ${path}`,
    read: () => readFile(path, 'utf8'),
    watch(changed) {
      let settle: NodeJS.Timeout | undefined;
      const settled = () => {
        clearTimeout(settle);
        settle = setTimeout(changed, FILE_EVENT_SETTLE_MS);
      };
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(dirname(path), (_event, name) => {
          if (name === null || name === basename(path)) settled();
        });
        // A folder that goes away ends the watch; the poll goes on.
        watcher.on('error', () => watcher?.close());
      } catch {
        // No fs.watch here: the poll alone.
      }
      const poll = setInterval(changed, pollIntervalMs);
      return () => {
        clearInterval(poll);
        clearTimeout(settle);
        watcher?.close();
      };
    },
  };
}

/** How long one poll of a supergraph URL may take. */
const URL_TIMEOUT_MS = 10_000;

/**
 * A supergraph served over HTTP (a registry, an object store, a config server), polled every
 * `pollIntervalMs` with `If-None-Match`: a `304 Not Modified` costs no body and no parse.
 */
export function urlSource(url: string, pollIntervalMs: number): SupergraphSource {
  let etag: string | undefined;
  return {
    description: `url ${url}`,
    async read() {
      const response = await fetch(url, {
        headers: etag ? { 'if-none-match': etag } : {},
        signal: AbortSignal.timeout(URL_TIMEOUT_MS),
      });
      if (response.status === 304) return undefined;
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`${url} answered ${response.status}`);
      }
      const sdl = await response.text();
      etag = response.headers.get('etag') ?? undefined;
      return sdl;
    },
    watch(changed) {
      const poll = setInterval(changed, pollIntervalMs);
      return () => clearInterval(poll);
    },
  };
}
