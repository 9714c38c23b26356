import { badUserInput } from '../../../common/errors/errors';
import { checkPageSize, decodeCursor } from '../../../common/graphql/pagination';

/** Messages shown when a client asks for neither `first` nor `last`. */
export const DEFAULT_BRANCH_PAGE_SIZE = 50;

/** A message's cursor in a branch is its depth: its position, whichever branch is active. */
export type BranchCursor = number;

const isBranchCursor = (value: unknown): value is BranchCursor =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

export interface BranchPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * Which part of the active branch a page covers, by depth. Forward pages come from the root
 * side (`first` after the `after` depth); backward pages from the leaf side (`last` before the
 * `before` depth, or the newest `last` messages).
 */
export type BranchPage =
  | { direction: 'forward'; size: number; afterDepth: number | null }
  | { direction: 'backward'; size: number; beforeDepth: number | null };

export function parseBranchPage({ first, after, last, before }: BranchPageArgs): BranchPage {
  checkPageSize(first, 'first');
  checkPageSize(last, 'last');
  const forward = (first ?? null) !== null || (after ?? null) !== null;
  const backward = (last ?? null) !== null || (before ?? null) !== null;
  if (forward && backward) {
    throw badUserInput('last', 'page forward with first/after or backward with last/before, not both');
  }
  if (backward) {
    return {
      direction: 'backward',
      size: last ?? DEFAULT_BRANCH_PAGE_SIZE,
      beforeDepth: before ? decodeCursor(before, 'before', isBranchCursor) : null,
    };
  }
  return {
    direction: 'forward',
    size: first ?? DEFAULT_BRANCH_PAGE_SIZE,
    afterDepth: after ? decodeCursor(after, 'after', isBranchCursor) : null,
  };
}

/** A stable name for the page, for the cache. */
export const branchPageKey = (page: BranchPage) =>
  page.direction === 'forward'
    ? `f:${page.size}:${page.afterDepth ?? ''}`
    : `b:${page.size}:${page.beforeDepth ?? ''}`;
