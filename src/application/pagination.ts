import { badInput } from '../shared/errors.js';

/** Relay connection, transport-agnostic: GraphQL maps it one to one. */
export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
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

/** Builds a page from `size + 1` rows fetched in order: the extra row only says that there is a next page. */
export function toPage<R, T>(
  rows: readonly R[],
  size: number,
  count: () => Promise<number>,
  cursorOf: (row: R) => string,
  node: (row: R) => T,
): Page<T> {
  const shown = rows.slice(0, size);
  const edges = shown.map((row) => ({ cursor: cursorOf(row), node: node(row) }));
  let counted: Promise<number> | null = null;
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    get totalCount() {
      return (counted ??= count());
    },
  };
}
