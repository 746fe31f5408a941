import { badInput } from '../shared/errors.js';

/** Relay connection, transport-agnostic: GraphQL maps it one to one. */
export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /**
   * Counted only when read (a getter): a count costs as much as the matching
   * rows, however small the page, so a client that does not select
   * `totalCount` does not pay for it.
   */
  readonly totalCount: Promise<number>;
}

/**
 * Keyset cursors: the sort key of the last row seen, opaque to clients
 * (base64url JSON). Unlike offsets, they do not skip or repeat rows when
 * something is inserted or deleted between two pages.
 */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(field: string, cursor: string, length: number): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = null;
  }
  if (!Array.isArray(key) || key.length !== length || !key.every((k) => typeof k === 'string')) {
    throw badInput(field, `${field} is not a cursor returned by this list`);
  }
  return key;
}

/** `first` within [0, max]; 0 answers only totalCount. */
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) throw badInput('first', `first must be an integer from 0 to ${max}`);
  return size;
}

/** Relay's paging arguments: forwards with `first`/`after`, backwards with `last`/`before`. */
export interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

/**
 * Which way a request pages and how far: `last` or `before` page backwards
 * (the items just before `before`, or the last ones), `first`/`after`
 * forwards. `after` with `before`, or `last` with `after`, is refused: one
 * direction a request.
 */
export function pageDirection(args: PageArgs, fallback: number, max: number): { backward: boolean; size: number; cursor: string | null } {
  const backward = args.last != null || args.before != null;
  if (backward && args.after != null) throw badInput('after', 'give after (with first) or before (with last), not both');
  if (!backward) return { backward, size: pageSize(args.first, fallback, max), cursor: args.after ?? null };
  const size = args.last ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) throw badInput('last', `last must be an integer from 0 to ${max}`);
  return { backward, size, cursor: args.before ?? null };
}

/** An edge whose cursor is encoded only when read: a page's client usually asks for `pageInfo.endCursor` alone. */
class LazyEdge<R, T> {
  private encoded: string | undefined;

  constructor(
    private readonly row: R,
    private readonly cursorOf: (row: R) => string,
    readonly node: T,
  ) {}

  get cursor(): string {
    return (this.encoded ??= this.cursorOf(this.row));
  }
}

/**
 * Builds a page from `size + 1` rows fetched in the page's direction (for a
 * backward page, in reverse order, nearest the cursor first): the extra row
 * only says that more follow in that direction. Whether there are more the
 * other way is known from the cursor: a page that starts after (or ends
 * before) a cursor has at least that row beyond it.
 */
export function toPage<R, T>(
  rows: readonly R[],
  size: number,
  count: () => Promise<number>,
  cursorOf: (row: R) => string,
  node: (row: R) => T,
  direction: { backward: boolean; cursor: string | null } = { backward: false, cursor: null },
): Page<T> {
  const shown = rows.slice(0, size);
  if (direction.backward) shown.reverse();
  const edges = shown.map((row) => new LazyEdge(row, cursorOf, node(row)));
  const more = rows.length > size;
  const beyondCursor = direction.cursor !== null;
  let counted: Promise<number> | null = null;
  return {
    edges,
    pageInfo: {
      hasNextPage: direction.backward ? beyondCursor : more,
      hasPreviousPage: direction.backward ? more : beyondCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    get totalCount() {
      return (counted ??= count());
    },
  };
}
