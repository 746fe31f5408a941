/** The stored state of one collection: documents by `_id`, its indexes and work counters. */
import { DuplicateKeyError, type IndexSpec } from '../port.js';
import { OrderedIndex, uniqueIndex, uniqueKeys, type UniqueIndex } from './indexes.js';
import type { PlannerSource, WorkStats } from './planner.js';
import { deepEqual, idKey, type Plain } from './values.js';

export const ID_INDEX = '_id_';

/** Documents re-indexed between two pauses of `warm`. */
const WARM_CHUNK = 256;

function sameIndexSpec(a: IndexSpec, b: IndexSpec): boolean {
  return (
    deepEqual(a.keys, b.keys) &&
    Boolean(a.unique) === Boolean(b.unique) &&
    deepEqual(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null)
  );
}

/**
 * Ordered indexes catch up with the documents when a query is about to use
 * them (see `orderedIndexes`), not on every write: a write only notes which
 * document changed. Every query still sees every write, each document is
 * re-indexed once however often it changed in between, and write bursts that
 * no query reads meanwhile (projection batches, rebuilds) are indexed in one
 * go: sorted and bulk-loaded when they are a large part of the collection.
 * Unique indexes stay eager: they must reject a duplicate at once.
 */
export class CollectionState implements PlannerSource {
  readonly docs = new Map<string, Plain>();
  readonly indexes = new Map<string, IndexSpec>();
  readonly unique: UniqueIndex[] = [];
  readonly stats: WorkStats = { docsExamined: 0, keysExamined: 0 };
  private readonly ordered: OrderedIndex[] = [];
  /**
   * Documents written since the ordered indexes last caught up, by idKey:
   * the version the indexes hold (undefined: none).
   */
  private readonly stale = new Map<string, Plain | undefined>();

  /** Documents written since the ordered indexes last caught up (tests). */
  get pendingIndexUpdates(): number {
    return this.ordered.length === 0 ? 0 : this.stale.size;
  }

  /** The ordered indexes, up to date with every write. */
  orderedIndexes(): readonly OrderedIndex[] {
    if (this.stale.size > 0) this.catchUp();
    return this.ordered;
  }

  /**
   * Catches the ordered indexes up a few hundred documents at a time, calling
   * `pause` between chunks (the event loop runs other work there). A query in
   * between catches up the rest at once, as always.
   */
  async warm(pause: () => Promise<void>): Promise<void> {
    if (this.ordered.length === 0) {
      this.stale.clear();
      return;
    }
    while (this.stale.size > 0) {
      let done = 0;
      for (const [key, indexed] of this.stale) {
        const current = this.docs.get(key);
        for (const index of this.ordered) {
          if (indexed && current) index.replace(key, indexed, current);
          else if (indexed) index.remove(key, indexed);
          else if (current) index.add(key, current);
        }
        this.stale.delete(key);
        if (++done >= WARM_CHUNK) break;
      }
      await pause();
    }
  }

  private catchUp(): void {
    if (this.ordered.length > 0) {
      if (this.stale.size * 2 > this.docs.size) {
        // Most of the collection changed (a rebuild, a first load): sorted bulk loads beat that many single inserts.
        for (const index of this.ordered) index.rebuild(this.docs);
      } else {
        for (const index of this.ordered) {
          for (const [key, indexed] of this.stale) {
            const current = this.docs.get(key);
            if (indexed && current) index.replace(key, indexed, current);
            else if (indexed) index.remove(key, indexed);
            else if (current) index.add(key, current);
          }
        }
      }
    }
    this.stale.clear();
  }

  /** Adds the indexes not there yet (built over the stored documents); throws on a conflicting spec or existing duplicates. */
  createIndexes(collection: string, specs: readonly IndexSpec[]): void {
    for (const spec of specs) {
      const existing = this.indexes.get(spec.name);
      if (existing) {
        if (!sameIndexSpec(existing, spec)) throw new Error(`index ${spec.name} already exists on ${collection} with different options`);
        continue;
      }
      if (spec.name === ID_INDEX) continue;
      this.orderedIndexes(); // the new index is built from the documents as they are now
      const copy: IndexSpec = structuredClone(spec);
      if (copy.unique) {
        const index = uniqueIndex(copy);
        for (const [key, doc] of this.docs) {
          for (const k of uniqueKeys(index, doc)) {
            const owner = index.entries.get(k);
            if (owner !== undefined && owner !== key) throw new DuplicateKeyError(collection, copy.name);
            index.entries.set(k, key);
          }
        }
        this.unique.push(index);
      }
      // A partial index only holds some documents: queries never use it (MongoDB would, for filters implying its expression).
      if (!copy.partialFilterExpression && Object.keys(copy.keys).length > 0) {
        const index = new OrderedIndex(copy);
        index.rebuild(this.docs);
        this.ordered.push(index);
      }
      this.indexes.set(copy.name, copy);
    }
  }

  /** Throws DuplicateKeyError if `doc` (stored under `key`) would violate a unique index; the keys it has in each. */
  private check(collection: string, key: string, doc: Plain): string[][] {
    const all: string[][] = [];
    if (this.unique.length === 0) return all;
    for (const index of this.unique) {
      const keys = uniqueKeys(index, doc);
      for (const k of keys) {
        const owner = index.entries.get(k);
        if (owner !== undefined && owner !== key) throw new DuplicateKeyError(collection, index.spec.name);
      }
      all.push(keys);
    }
    return all;
  }

  private unindex(key: string, doc: Plain): void {
    for (const index of this.unique) {
      for (const k of uniqueKeys(index, doc)) if (index.entries.get(k) === key) index.entries.delete(k);
    }
  }

  private index(key: string, keys: string[][]): void {
    this.unique.forEach((index, i) => {
      for (const k of keys[i]!) index.entries.set(k, key);
    });
  }

  /** Inserts a new document (a private copy). */
  insert(collection: string, doc: Plain): void {
    const key = idKey(doc['_id']);
    if (this.docs.has(key)) throw new DuplicateKeyError(collection, ID_INDEX);
    const keys = this.check(collection, key, doc);
    this.docs.set(key, doc);
    this.index(key, keys);
    if (!this.stale.has(key)) this.stale.set(key, undefined);
  }

  /** Swaps `next` in for `prev` (same _id). */
  replace(collection: string, prev: Plain, next: Plain): void {
    const key = idKey(prev['_id']);
    const keys = this.check(collection, key, next);
    this.unindex(key, prev);
    this.docs.set(key, next);
    this.index(key, keys);
    if (!this.stale.has(key)) this.stale.set(key, prev);
  }

  remove(doc: Plain): void {
    const key = idKey(doc['_id']);
    this.unindex(key, doc);
    this.docs.delete(key);
    if (!this.stale.has(key)) this.stale.set(key, doc);
  }
}
