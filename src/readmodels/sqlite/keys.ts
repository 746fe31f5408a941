/**
 * Index keys of the SQLite store: every value becomes a string whose byte
 * order (SQLite's BINARY collation) is MongoDB's BSON order: a type rank
 * first, then an order-preserving body. Entries of a document in an index
 * follow MongoDB's multikey rules: an array gives one entry per element, a
 * missing field or an empty array the entry of `null`.
 */
import { encodeValue, valuesAtPath, type Plain } from '../memory/values.js';

const NUMBER_BYTES = 8;

/** A number as 16 hex digits whose string order is numeric order; NaN first (as BSON orders it). */
function numberKey(value: number): string {
  if (Number.isNaN(value)) return '0'.repeat(NUMBER_BYTES * 2);
  const buffer = Buffer.alloc(NUMBER_BYTES);
  buffer.writeDoubleBE(Object.is(value, -0) ? 0 : value);
  if (buffer[0]! & 0x80) for (let i = 0; i < NUMBER_BYTES; i++) buffer[i] = ~buffer[i]! & 0xff;
  else buffer[0] = buffer[0]! | 0x80;
  return buffer.toString('hex');
}

/** Type ranks as characters, in BSON order (see memory/values.ts typeRank). */
export const RANK = { null: '1', number: '2', string: '3', object: '4', array: '5', boolean: '8', date: '9', other: 'B' } as const;

/** The index key of one value. */
export function valueKey(value: unknown): string {
  if (value === undefined || value === null) return RANK.null;
  switch (typeof value) {
    case 'string':
      return RANK.string + value;
    case 'number':
      return RANK.number + numberKey(value);
    case 'bigint':
      return RANK.number + numberKey(Number(value));
    case 'boolean':
      return RANK.boolean + (value ? '1' : '0');
    default:
      break;
  }
  if (value instanceof Date) return RANK.date + numberKey(value.getTime());
  if (Array.isArray(value)) return RANK.array + JSON.stringify(encodeValue(value));
  if (typeof value === 'object') return RANK.object + JSON.stringify(encodeValue(value));
  return RANK.other + JSON.stringify(encodeValue(value));
}

/** Entries per document beyond which the index refuses the document (parallel arrays). */
const MAX_ENTRIES_PER_DOCUMENT = 1000;

export interface DocumentEntries {
  /** One array of keys per entry, one key per indexed field. */
  entries: string[][];
  /** Some field held an array (or crossed one): the index is multikey from now on. */
  multikey: boolean;
}

/** The entries of `doc` in an index on `paths` (dotted paths split into parts). */
export function documentEntries(doc: Plain, paths: readonly (readonly string[])[]): DocumentEntries {
  let multikey = false;
  let combos: string[][] = [[]];
  for (const parts of paths) {
    const found = parts.length === 1 ? (doc[parts[0]!] === undefined ? [] : [doc[parts[0]!]]) : valuesAtPath(doc, parts);
    if (found.length > 1) multikey = true;
    const keys = new Set<string>();
    if (found.length === 0) keys.add(RANK.null);
    for (const v of found) {
      if (Array.isArray(v)) {
        multikey = true;
        if (v.length === 0) keys.add(RANK.null);
        for (const item of v as unknown[]) keys.add(valueKey(item));
      } else keys.add(valueKey(v));
    }
    const next: string[][] = [];
    for (const combo of combos) for (const k of keys) next.push([...combo, k]);
    if (next.length > MAX_ENTRIES_PER_DOCUMENT)
      throw new Error(`a document has more than ${MAX_ENTRIES_PER_DOCUMENT} entries in one index`);
    combos = next;
  }
  return { entries: combos, multikey };
}

/** The smallest key of a type rank and the first key above it. */
export function rankBounds(rank: string): [string, string] {
  return [rank, String.fromCharCode(rank.charCodeAt(0) + 1)];
}
