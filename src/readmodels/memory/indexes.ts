/**
 * Secondary indexes of a collection.
 *
 * - Unique indexes keep a Map from the encoded key to the owning document,
 *   for O(1) duplicate checks and lookups on all fields.
 * - Every declared index (unique or not, except partial ones) is also kept as
 *   an ordered index: a B+ tree of entries `[v1, ..., vk, _id]` in BSON order
 *   with the index's directions, `_id` as the tiebreaker. It answers
 *   equalities, `$in` lists and one range on the field after them, and walks
 *   in the order of a sort that the index covers (see planner.ts).
 *
 * Ordered entries follow MongoDB's multikey rules: an array gives one entry
 * per element, and a missing field or an empty array the entry `null`
 * (superset: the filter is always applied to what an index yields). Documents
 * the entries cannot represent exactly for scalar bounds (a path through an
 * array, nested arrays, values of other classes, too many combinations) are
 * kept apart as "irregular" and are candidates of every query on the index.
 */
import { createRequire } from 'node:module';
import type SortedBTree from 'sorted-btree';
import type { IndexSpec } from '../port.js';
import { compileFilter, type Matcher } from './filters.js';
import { compareNumbers, compareValues, encodeValue, isPlainObject, typeRank, valuesAtPath, type Plain } from './values.js';

// sorted-btree is CommonJS with `exports.default`; loaded the same way under Node, tsx and vitest.
type BTreeClass = typeof SortedBTree.default;
interface NodeClasses {
  BNode?: new (keys: unknown[], values: unknown[]) => { size(): number };
  BNodeInternal?: new (children: { size(): number }[], size: number) => { size(): number };
}
const sortedBTree = createRequire(import.meta.url)('sorted-btree') as { default: BTreeClass } & NodeClasses;
const BTree = sortedBTree.default;
export type Tree<K, V> = SortedBTree.default<K, V>;

/**
 * Fills an empty tree with entries already in key order, building the nodes
 * directly (three quarters full, room for later inserts) instead of
 * descending from the root for each entry: several times faster for a
 * rebuild. Uses the node classes sorted-btree exports; without them, plain
 * inserts.
 */
function bulkLoad<K, V>(tree: Tree<K, V>, keys: K[], values: V[]): void {
  const { BNode, BNodeInternal } = sortedBTree;
  if (!BNode || !BNodeInternal || keys.length === 0 || !('_root' in tree)) {
    for (let i = 0; i < keys.length; i++) tree.set(keys[i]!, values[i]!);
    return;
  }
  const fill = Math.max(2, Math.floor((tree.maxNodeSize * 3) / 4));
  let level: { size(): number }[] = [];
  for (let i = 0; i < keys.length; i += fill) level.push(new BNode(keys.slice(i, i + fill), values.slice(i, i + fill)));
  while (level.length > 1) {
    const next: { size(): number }[] = [];
    for (let i = 0; i < level.length; i += fill) {
      const children = level.slice(i, i + fill);
      next.push(
        new BNodeInternal(
          children,
          children.reduce((n, c) => n + c.size(), 0),
        ),
      );
    }
    level = next;
  }
  (tree as unknown as { _root: unknown })._root = level[0];
}

// ---------------------------------------------------------------------------
// Unique indexes (Maps)
// ---------------------------------------------------------------------------

export interface UniqueIndex {
  spec: IndexSpec;
  paths: string[][];
  /** Every path is a top-level field. */
  flat: boolean;
  partial: Matcher | undefined;
  /** encoded key → idKey of the owning document */
  entries: Map<string, string>;
}

export function uniqueIndex(spec: IndexSpec): UniqueIndex {
  return {
    spec,
    paths: Object.keys(spec.keys).map((p) => p.split('.')),
    flat: Object.keys(spec.keys).every((p) => !p.includes('.')),
    partial: spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined,
    entries: new Map(),
  };
}

/** The encoded keys of `doc` in a unique index (none when a partial index leaves it out). */
export function uniqueKeys(index: UniqueIndex, doc: Plain): string[] {
  if (index.partial && !index.partial(doc)) return [];
  // Usual case: top-level fields holding scalars make exactly one key.
  if (index.flat) {
    const values: unknown[] = [];
    for (const parts of index.paths) {
      const value = doc[parts[0]!];
      if (value !== null && typeof value === 'object') {
        values.length = 0;
        break;
      }
      values.push(encodeValue(value));
    }
    if (values.length === index.paths.length) return [JSON.stringify(values)];
  }
  let combos: unknown[][] = [[]];
  for (const parts of index.paths) {
    const found = valuesAtPath(doc, parts);
    let values: unknown[];
    if (found.length === 0) values = [null];
    else {
      values = [];
      for (const v of found) {
        if (Array.isArray(v)) values.push(...(v.length === 0 ? [undefined] : (v as unknown[])));
        else values.push(v);
      }
    }
    const next: unknown[][] = [];
    for (const combo of combos) for (const v of values) next.push([...combo, encodeValue(v)]);
    combos = next;
  }
  return [...new Set(combos.map((c) => JSON.stringify(c)))];
}

// ---------------------------------------------------------------------------
// Key order
// ---------------------------------------------------------------------------

/** Probe-key sentinels: below / above every value at their position (whatever the direction). */
export const MIN_KEY: unique symbol = Symbol('MinKey');
export const MAX_KEY: unique symbol = Symbol('MaxKey');

/** A value-space bound just below (`side` -1) or above (+1) every value of one BSON type (`rank`, see typeRank). */
export class TypeBound {
  constructor(
    readonly rank: number,
    readonly side: -1 | 1,
  ) {}
}

/** BSON order of two index values, type bounds included. */
export function compareIndexValues(a: unknown, b: unknown): number {
  if (a instanceof TypeBound || b instanceof TypeBound) {
    const ra = a instanceof TypeBound ? a.rank + a.side / 2 : typeRank(a);
    const rb = b instanceof TypeBound ? b.rank + b.side / 2 : typeRank(b);
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  }
  return compareValues(a, b);
}

/** typeRank of null, numbers, strings and booleans; 0 for anything else. */
function scalarRank(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 3;
    case 'number':
      return 2;
    case 'boolean':
      return 8;
    case 'object':
      return value === null ? 1 : 0;
    default:
      return 0;
  }
}

/**
 * The comparator of entries `[v1, ..., vk, _id]` (and of probe keys, which
 * may end early with MIN_KEY or MAX_KEY) for fields with directions `dirs`;
 * from position `from` on (the positions before are taken as equal).
 */
export function entryComparator(dirs: readonly (1 | -1)[], from = 0): (a: unknown[], b: unknown[]) => number {
  const n = dirs.length;
  return (a, b) => {
    for (let i = from; i <= n; i++) {
      const x = a[i];
      const y = b[i];
      if (x === y) continue;
      if (typeof x === 'symbol') return x === MIN_KEY ? -1 : 1;
      if (typeof y === 'symbol') return y === MIN_KEY ? 1 : -1;
      let c: number;
      if (typeof x === 'string' && typeof y === 'string') c = x < y ? -1 : 1;
      else if (typeof x === 'number' && typeof y === 'number') c = x < y ? -1 : x > y ? 1 : compareNumbers(x, y);
      else {
        const rx = scalarRank(x);
        const ry = scalarRank(y);
        // Two scalars of different types (or booleans): their type order decides.
        if (rx !== 0 && ry !== 0 && (rx !== ry || rx === 8)) c = rx !== ry ? rx - ry : x ? 1 : -1;
        else c = compareIndexValues(x, y);
      }
      if (c !== 0) return i < n && dirs[i] === -1 ? -c : c;
    }
    return 0;
  };
}

// ---------------------------------------------------------------------------
// Ordered indexes (B+ trees)
// ---------------------------------------------------------------------------

/** Entries per document beyond which a document is kept as irregular instead (parallel arrays). */
const MAX_ENTRIES_PER_DOCUMENT = 1000;

const IRREGULAR = Symbol('irregular');

/** The value at a dotted path for an index: `undefined` when missing, IRREGULAR when the path crosses an array or a non-plain object. */
function pathValue(doc: Plain, parts: readonly string[]): unknown {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || cur instanceof Date) return undefined;
    if (Array.isArray(cur) || !isPlainObject(cur)) return IRREGULAR;
    cur = cur[parts[i]!];
  }
  return cur;
}

/**
 * An index value for a string, number, boolean, Date or sub-document (`null`
 * for missing), or IRREGULAR (a bigint equals a number in BSON order but not
 * in a filter, for one).
 */
function entryValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'object':
      return value instanceof Date || isPlainObject(value) ? value : IRREGULAR;
    default:
      return IRREGULAR;
  }
}

export class OrderedIndex {
  readonly name: string;
  readonly fields: readonly string[];
  readonly dirs: readonly (1 | -1)[];
  readonly compare: (a: unknown[], b: unknown[]) => number;
  readonly tree: Tree<unknown[], string>;
  /** idKeys of documents that are candidates of every query on this index. */
  readonly irregular = new Set<string>();
  /** Per field: how many documents hold an array there. */
  readonly multikey: number[];
  /** How many documents hold an array in some field (then a document may have several entries). */
  multikeyDocuments = 0;
  private readonly paths: readonly (readonly string[])[];

  constructor(spec: IndexSpec) {
    this.name = spec.name;
    this.fields = Object.keys(spec.keys);
    this.dirs = this.fields.map((f) => (spec.keys[f] === -1 ? -1 : 1));
    this.paths = this.fields.map((f) => f.split('.'));
    this.multikey = this.fields.map(() => 0);
    this.compare = entryComparator(this.dirs);
    this.tree = new BTree<unknown[], string>(undefined, this.compare);
  }

  /**
   * The entries of `doc`, IRREGULAR, and which fields hold arrays. Entries
   * hold references to the document's values (stored documents are never
   * mutated).
   */
  private entriesOf(doc: Plain): { entries: unknown[][]; arrays: number[] | undefined } | typeof IRREGULAR {
    const n = this.paths.length;
    const entry = new Array<unknown>(n + 1);
    let arrays: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const parts = this.paths[i]!;
      const raw = parts.length === 1 ? doc[parts[0]!] : pathValue(doc, parts);
      if (raw === IRREGULAR) return IRREGULAR;
      if (Array.isArray(raw)) {
        (arrays ??= []).push(i);
        entry[i] = raw;
        continue;
      }
      const value = entryValue(raw);
      if (value === IRREGULAR) return IRREGULAR;
      entry[i] = value;
    }
    entry[n] = doc['_id'];
    if (!arrays) return { entries: [entry], arrays };
    let entries: unknown[][] = [entry];
    for (const i of arrays) {
      const list = entry[i] as unknown[];
      const values: unknown[] = [];
      if (list.length === 0) values.push(null);
      for (const element of list) {
        if (Array.isArray(element)) return IRREGULAR;
        const value = entryValue(element);
        if (value === IRREGULAR) return IRREGULAR;
        values.push(value);
      }
      if (entries.length * values.length > MAX_ENTRIES_PER_DOCUMENT) return IRREGULAR;
      const next: unknown[][] = [];
      for (const e of entries) {
        for (const value of values) {
          const copy = e.slice();
          copy[i] = value;
          next.push(copy);
        }
      }
      entries = next;
    }
    return { entries, arrays };
  }

  add(key: string, doc: Plain): void {
    const found = this.entriesOf(doc);
    if (found === IRREGULAR) {
      this.irregular.add(key);
      return;
    }
    for (const entry of found.entries) this.tree.set(entry, key);
    if (found.arrays) {
      this.multikeyDocuments++;
      for (const i of found.arrays) this.multikey[i]!++;
    }
  }

  remove(key: string, doc: Plain): void {
    const found = this.entriesOf(doc);
    if (found === IRREGULAR) {
      this.irregular.delete(key);
      return;
    }
    for (const entry of found.entries) this.tree.delete(entry);
    if (found.arrays) {
      this.multikeyDocuments--;
      for (const i of found.arrays) this.multikey[i]!--;
    }
  }

  /** Moves a document's entries from `prev` to `next` (same `_id`), unless no indexed value changed. */
  replace(key: string, prev: Plain, next: Plain): void {
    let same = true;
    for (const parts of this.paths) {
      const a = parts.length === 1 ? prev[parts[0]!] : pathValue(prev, parts);
      const b = parts.length === 1 ? next[parts[0]!] : pathValue(next, parts);
      if (a !== b) {
        same = false;
        break;
      }
    }
    if (same) return;
    this.remove(key, prev);
    this.add(key, next);
  }

  /** Builds the index afresh over `docs`: entries sorted first, then inserted in order. */
  rebuild(docs: ReadonlyMap<string, Plain>): void {
    this.tree.clear();
    this.irregular.clear();
    this.multikey.fill(0);
    this.multikeyDocuments = 0;
    const entries: unknown[][] = [];
    const keys: string[] = [];
    for (const [key, doc] of docs) {
      const found = this.entriesOf(doc);
      if (found === IRREGULAR) {
        this.irregular.add(key);
        continue;
      }
      for (const entry of found.entries) {
        entries.push(entry);
        keys.push(key);
      }
      if (found.arrays) {
        this.multikeyDocuments++;
        for (const i of found.arrays) this.multikey[i]!++;
      }
    }
    const order = Array.from(entries.keys()).sort((a, b) => this.compare(entries[a]!, entries[b]!));
    const sortedEntries: unknown[][] = [];
    const sortedKeys: string[] = [];
    for (let j = 0; j < order.length; j++) {
      const at = order[j]!;
      // Equal entries (an array holding a value twice): one is enough.
      if (j > 0 && this.compare(entries[at]!, sortedEntries[sortedEntries.length - 1]!) === 0) continue;
      sortedEntries.push(entries[at]!);
      sortedKeys.push(keys[at]!);
    }
    bulkLoad(this.tree, sortedEntries, sortedKeys);
  }
}
