/** The stored state of one collection: documents by `_id`, and its indexes. */
import { DuplicateKeyError, type Filter, type IndexSpec } from '../port.js';
import { compileFilter, idCandidates, scalarEqualities, type Matcher } from './filters.js';
import { compareValues, encodeValue, idKey, valuesAtPath, type Plain } from './values.js';

export const ID_INDEX = '_id_';

export interface UniqueIndex {
  spec: IndexSpec;
  paths: string[][];
  /** Every path is a top-level field. */
  flat: boolean;
  partial: Matcher | undefined;
  /** encoded key → idKey of the owning document */
  entries: Map<string, string>;
}

/**
 * A secondary index on one top-level field (the first field of a declared
 * index, in practice `tenantId`): document keys by the field's scalar value,
 * in insertion order. Documents whose field holds an array or a sub-document
 * are kept apart in `irregular`; while there are any, equality lookups on the
 * field fall back to a scan (MongoDB equality would look inside them).
 */
export interface Partition {
  /** Keys of documents whose field holds a string, by that string. */
  strings: Map<string, Set<string>>;
  /** Keys of documents whose field holds another scalar or nothing, by `partitionKey`. */
  others: Map<string, Set<string>>;
  irregular: Set<string>;
}

/** The bucket of a non-string value in a partition, or undefined for values that are neither scalar nor missing. */
export function partitionKey(value: unknown): string | undefined {
  if (value === undefined || value === null) return 'z';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? undefined : `n${Object.is(value, -0) ? 0 : value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    default:
      return undefined;
  }
}

/** The map and key of a value's bucket, or undefined (irregular value). */
export function bucketOf(partition: Partition, value: unknown): [Map<string, Set<string>>, string] | undefined {
  if (typeof value === 'string') return [partition.strings, value];
  const key = partitionKey(value);
  return key === undefined ? undefined : [partition.others, key];
}

export class CollectionState {
  readonly docs = new Map<string, Plain>();
  readonly indexes = new Map<string, IndexSpec>();
  readonly unique: UniqueIndex[] = [];
  readonly partitions = new Map<string, Partition>();

  /** Adds a partition on `field` (idempotent), indexing the documents already stored. */
  partitionBy(field: string): void {
    if (field === '_id' || field.includes('.') || this.partitions.has(field)) return;
    const partition: Partition = { strings: new Map(), others: new Map(), irregular: new Set() };
    this.partitions.set(field, partition);
    for (const [key, doc] of this.docs) this.enter(partition, key, doc[field]);
  }

  private enter(partition: Partition, key: string, value: unknown): void {
    // Strings first, without building a tuple: this runs for every insert.
    let buckets = partition.strings;
    let bucketKey: string | undefined = typeof value === 'string' ? value : undefined;
    if (bucketKey === undefined) {
      bucketKey = partitionKey(value);
      if (bucketKey === undefined) {
        partition.irregular.add(key);
        return;
      }
      buckets = partition.others;
    }
    let bucket = buckets.get(bucketKey);
    if (!bucket) buckets.set(bucketKey, (bucket = new Set()));
    bucket.add(key);
  }

  private leave(partition: Partition, key: string, value: unknown): void {
    const at = bucketOf(partition, value);
    if (!at) {
      partition.irregular.delete(key);
      return;
    }
    const [buckets, bucketKey] = at;
    const bucket = buckets.get(bucketKey);
    if (!bucket) return;
    bucket.delete(key);
    if (bucket.size === 0) buckets.delete(bucketKey);
  }

  private repartition(key: string, prev: Plain | undefined, next: Plain | undefined): void {
    for (const [field, partition] of this.partitions) {
      const before = prev?.[field];
      const after = next?.[field];
      if (prev && next && before === after) continue;
      if (prev) this.leave(partition, key, before);
      if (next) this.enter(partition, key, after);
    }
  }

  /**
   * The keys of the only documents that can match `filter`, if an index
   * narrows it: a unique index all of whose fields the filter fixes (at most
   * one document), else the smallest partition bucket of a fixed field.
   */
  private candidates(filter: Filter): ReadonlySet<string> | readonly string[] | undefined {
    if (this.partitions.size === 0 && this.unique.length === 0) return undefined;
    const equalities = scalarEqualities(filter);
    if (equalities.size === 0) return undefined;
    for (const index of this.unique) {
      if (index.partial) continue;
      const values: unknown[] = [];
      for (const parts of index.paths) {
        if (parts.length !== 1 || !equalities.has(parts[0]!)) break;
        values.push(encodeValue(equalities.get(parts[0]!)));
      }
      if (values.length !== index.paths.length) continue;
      const owner = index.entries.get(JSON.stringify(values));
      return owner === undefined ? [] : [owner];
    }
    let best: ReadonlySet<string> | undefined;
    for (const [field, value] of equalities) {
      const partition = this.partitions.get(field);
      if (!partition || partition.irregular.size > 0) continue;
      const [buckets, bucketKey] = bucketOf(partition, value)!;
      const bucket = buckets.get(bucketKey) ?? EMPTY_KEYS;
      if (!best || bucket.size < best.size) best = bucket;
    }
    return best;
  }

  keysFor(index: UniqueIndex, doc: Plain): string[] {
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

  /** Throws DuplicateKeyError if `doc` (stored under `key`) would violate a unique index. */
  check(collection: string, key: string, doc: Plain): string[][] {
    const all: string[][] = [];
    if (this.unique.length === 0) return all;
    for (const index of this.unique) {
      const keys = this.keysFor(index, doc);
      for (const k of keys) {
        const owner = index.entries.get(k);
        if (owner !== undefined && owner !== key) throw new DuplicateKeyError(collection, index.spec.name);
      }
      all.push(keys);
    }
    return all;
  }

  unindex(key: string, doc: Plain): void {
    for (const index of this.unique) {
      for (const k of this.keysFor(index, doc)) if (index.entries.get(k) === key) index.entries.delete(k);
    }
  }

  index(key: string, keys: string[][]): void {
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
    this.repartition(key, undefined, doc);
  }

  /** Swaps `next` in for `prev` (same _id). */
  replace(collection: string, prev: Plain, next: Plain): void {
    const key = idKey(prev['_id']);
    const keys = this.check(collection, key, next);
    this.unindex(key, prev);
    this.docs.set(key, next);
    this.index(key, keys);
    this.repartition(key, prev, next);
  }

  remove(doc: Plain): void {
    const key = idKey(doc['_id']);
    this.unindex(key, doc);
    this.docs.delete(key);
    this.repartition(key, doc, undefined);
  }

  /** Matching stored documents (references), in natural order. */
  *match(filter: Filter): Generator<Plain> {
    const matcher = compileFilter(filter);
    const ids = idCandidates(filter);
    if (ids) {
      const seen = new Set<string>();
      const picked: Plain[] = [];
      for (const id of ids) {
        const key = idKey(id);
        if (seen.has(key)) continue;
        seen.add(key);
        const doc = this.docs.get(key);
        if (doc && matcher(doc)) picked.push(doc);
      }
      // Several ids: ascending _id order, as an _id index scan gives in MongoDB.
      if (picked.length > 1) picked.sort((a, b) => compareValues(a['_id'], b['_id']));
      yield* picked;
      return;
    }
    const narrowed = this.candidates(filter);
    if (narrowed) {
      // Copied first: a caller may write between two pulls of this generator.
      for (const key of [...narrowed]) {
        const doc = this.docs.get(key);
        if (doc && matcher(doc)) yield doc;
      }
      return;
    }
    for (const doc of this.docs.values()) if (matcher(doc)) yield doc;
  }
}

export const EMPTY_KEYS: ReadonlySet<string> = new Set<string>();
