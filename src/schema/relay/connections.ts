import {
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLOutputType,
} from 'graphql';
import { decodeCursor, encodeCursor } from '../../application/pagination.js';
import { badInput } from '../../shared/errors.js';

/** The Relay page arguments every v2 list takes. */
export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

export const connectionArgs = (
  itemsDescription: string,
  withoutBoth = `the first ${DEFAULT_PAGE}`,
  max = MAX_PAGE,
): GraphQLFieldConfigArgumentMap => ({
  first: {
    type: GraphQLInt,
    description: `The first ${itemsDescription} of the window, up to this many (0 to ${max}). Without first or last: ${withoutBoth}.`,
  },
  after: { type: GraphQLString, description: "Only what comes after this cursor (an edge's cursor or pageInfo.endCursor)." },
  last: { type: GraphQLInt, description: `The last ${itemsDescription} of the window, up to this many (0 to ${max}).` },
  before: { type: GraphQLString, description: "Only what comes before this cursor (an edge's cursor or pageInfo.startCursor)." },
});

const connectionTypes = new Map<string, GraphQLObjectType>();

/** `<Item>Connection` and `<Item>Edge` for an item type (made once per name). */
export function connectionType(itemName: string, item: GraphQLOutputType, pageInfo: GraphQLObjectType): GraphQLObjectType {
  const name = `${itemName}Connection`;
  const existing = connectionTypes.get(name);
  if (existing) return existing;
  const edge = new GraphQLObjectType({
    name: `${itemName}Edge`,
    description: `One ${itemName} of a page, with the cursor that points at it.`,
    fields: {
      cursor: { type: new GraphQLNonNull(GraphQLString), description: 'Pass it as after (or before) to page from this item on.' },
      node: { type: new GraphQLNonNull(item), description: `The ${itemName}.` },
    },
  });
  const connection = new GraphQLObjectType({
    name,
    description: `A page of ${itemName} items (Relay connection): edges in the list's order, pageInfo, totalCount.`,
    fields: {
      edges: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(edge))), description: 'The items of this page, in order.' },
      pageInfo: { type: new GraphQLNonNull(pageInfo), description: 'Where this page is in the whole list.' },
      totalCount: { type: new GraphQLNonNull(GraphQLInt), description: 'How many items the whole list has (all pages).' },
    },
  });
  connectionTypes.set(name, connection);
  return connection;
}

const size = (field: string, value: number | null | undefined): number | null => {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE) throw badInput(field, `${field} must be an integer from 0 to ${MAX_PAGE}`);
  return value;
};

/**
 * A page of a list read whole. Cursors carry the item's key and its index:
 * an item that still exists is found by its key (so inserting or deleting
 * other items between two pages neither skips nor repeats anything); the
 * index is the fallback when the item a cursor names was deleted since.
 */
export function pageOfList<T>(items: readonly T[], keyOf: (item: T) => string, args: ConnectionArgs): Connection<T> {
  const first = size('first', args.first);
  const last = size('last', args.last);
  const keys = items.map(keyOf);
  const locate = (field: string, cursor: string): { index: number; found: boolean } => {
    const [key, index] = decodeCursor(field, cursor, 2) as [string, string];
    const at = keys.indexOf(key);
    if (at !== -1) return { index: at, found: true };
    const fallback = Number(index);
    if (!Number.isSafeInteger(fallback) || fallback < 0) throw badInput(field, `${field} is not a cursor returned by this list`);
    return { index: Math.min(fallback, items.length), found: false };
  };
  let start = 0;
  let end = items.length;
  if (args.after) {
    const { index, found } = locate('after', args.after);
    start = found ? index + 1 : index;
  }
  if (args.before) end = Math.max(start, locate('before', args.before).index);
  if (first !== null) end = Math.min(end, start + first);
  if (last !== null) start = Math.max(start, end - last);
  if (first === null && last === null) end = Math.min(end, start + DEFAULT_PAGE);
  const edges = items.slice(start, end).map((node, i) => ({ cursor: encodeCursor([keys[start + i]!, String(start + i)]), node }));
  return {
    edges,
    pageInfo: {
      hasPreviousPage: start > 0,
      hasNextPage: end < items.length,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: items.length,
  };
}
