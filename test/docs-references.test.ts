import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';

/**
 * Every `docs/…` path cited in code, scripts, configuration and docs names a file that exists, and
 * every `#anchor` after a page names one of its headings; so do the relative links between pages.
 */

const ROOT = resolve(__dirname, '..');

/** Tracked and new files, as git lists them, that can cite a page: sources, scripts, docs, manifests. */
const citingFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((path) => /\.(ts|js|mjs|md|ya?ml|json|graphql|sh)$|(^|\/)(Dockerfile|Makefile|run)$/.test(path))
  .filter((path) => !path.startsWith('clients/generated/') && existsSync(join(ROOT, path)));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

function anchorsOf(page: string): Set<string> {
  const headings = readFileSync(page, 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => anchorOf(line.replace(/^#+ /, '')));
  return new Set(headings);
}

interface Citation {
  in: string;
  /** Repository-relative path of the cited file or folder. */
  target: string;
  anchor?: string;
}

function citationsIn(path: string): Citation[] {
  const text = readFileSync(join(ROOT, path), 'utf8');
  // A page and its anchor written out, not inside a URL (…/docs/rover/); a placeholder (docs/...) is not one.
  const written = [...text.matchAll(/(?<![\w/.:-])docs\/([\w./-]*[\w/])(?:#([\w-]+))?/g)]
    .filter(([, rest]) => !rest.startsWith('..'))
    .map(([, rest, anchor]) => ({ in: path, target: `docs/${rest}`, anchor }));
  // Relative markdown links between pages: `[errors](errors.md#retrying)`.
  const linked = path.endsWith('.md')
    ? [...text.matchAll(/\]\((?!https?:|mailto:|#)([^)\s#]+\.md)(?:#([^)\s]+))?\)/g)].map(
        ([, link, anchor]) => ({
          in: path,
          target: normalize(join(dirname(path), link))
            .split('\\')
            .join('/'),
          anchor,
        }),
      )
    : [];
  return [...written, ...linked];
}

const citations = citingFiles.flatMap(citationsIn);

describe('references to docs/', () => {
  it('finds the citations', () => {
    expect(citations.length).toBeGreaterThan(50);
    expect(citations).toContainEqual({ in: 'common/errors/errors.ts', target: 'docs/errors.md' });
  });

  it('cites only pages and folders that exist', () => {
    const dangling = citations
      .filter((citation) => !existsSync(join(ROOT, citation.target)))
      .map((citation) => `${citation.in} → ${citation.target}`);
    expect([...new Set(dangling)]).toEqual([]);
  });

  it('cites only headings a page has', () => {
    const dangling = citations
      .filter((citation) => citation.anchor && existsSync(join(ROOT, citation.target)))
      .filter((citation) => !anchorsOf(join(ROOT, citation.target)).has(citation.anchor!.toLowerCase()))
      .map((citation) => `${citation.in} → ${citation.target}#${citation.anchor}`);
    expect([...new Set(dangling)]).toEqual([]);
  });
});
