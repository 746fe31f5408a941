/**
 * The embedded DocumentStore adapter: MongoDB filter, update and sort
 * semantics in process memory.
 *
 * - Filters are evaluated by mingo, except for a small fast path (top-level
 *   fields compared with scalars) that is semantically identical and avoids
 *   compiling a mingo query for every write of a projection.
 * - Updates are applied by `mingo/updater`, except for a fast path for
 *   `$set`/`$unset`/`$inc`/`$setOnInsert` on top-level fields.
 * - Stored documents are private deep copies that are never mutated in place:
 *   a write builds a new document and swaps it in. Every document handed out is
 *   a fresh deep copy, so callers can never alter stored state.
 * - `_id` lookups (`{_id: x}`, `{_id: {$eq: x}}`, `{_id: {$in: [...]}}`, also
 *   inside a top-level `$and`) use a Map instead of a scan; unique indexes are
 *   maintained as Maps from encoded key to `_id`.
 *
 * Everything is synchronous under the hood, so every operation is atomic with
 * respect to every other operation on the store.
 */
import { randomUUID } from 'node:crypto';
import { Query } from 'mingo';
import { update as mingoUpdate } from 'mingo/updater';
import {
  DuplicateKeyError,
  type BulkWriteOptions,
  type BulkWriteResult,
  type Collection,
  type Document,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Projection,
  type Sort,
  type Update,
  type UpdateOptions,
  type UpdateResult,
  type WriteOperation,
} from './port.js';

type Plain = Record<string, unknown>;
type Matcher = (doc: Plain) => boolean;

const MINGO_OPTIONS = { scriptEnabled: false } as const;
const ID_INDEX = '_id_';

// ---------------------------------------------------------------------------
// Value helpers (MongoDB semantics)
// ---------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Plain {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isScalar(value: unknown): value is string | number | boolean {
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/**
 * Deep copy of document data. Plain objects, arrays and Dates (all a
 * projection stores) are copied by hand, several times faster than
 * `structuredClone`; anything else (RegExp, typed arrays, ...) goes through
 * `structuredClone`.
 */
function copyData<V>(value: V): V {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyData(value[i] as unknown);
    return out as V;
  }
  if (value instanceof Date) return new Date(value.getTime()) as V;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Plain = proto === null ? (Object.create(null) as Plain) : {};
  for (const key of Object.keys(value)) {
    const copied = copyData((value as Plain)[key]);
    // A data key named "__proto__" must stay a key, never become the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true });
    else out[key] = copied;
  }
  return out as V;
}

function cloneValue<V>(value: V): V {
  return copyData(value);
}

/** Structural equality with significant key order, as BSON comparison has. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      const k = ka[i]!;
      if (k !== kb[i] || !deepEqual(a[k], b[k])) return false;
    }
    return true;
  }
  return false;
}

/** Canonical, type-tagged encoding of a value for index keys (1 and '1' differ, key order matters). */
function encodeValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return ['n', Object.is(value, -0) ? 0 : value];
  if (typeof value === 'boolean') return ['b', value];
  if (typeof value === 'bigint') return ['n', Number(value)];
  if (value instanceof Date) return ['t', value.getTime()];
  if (value instanceof RegExp) return ['r', value.source, value.flags];
  if (Array.isArray(value)) return ['a', value.map(encodeValue)];
  if (typeof value === 'object') {
    return ['o', Object.entries(value as Plain).map(([k, v]) => [k, encodeValue(v)])];
  }
  return ['?', typeof value === 'symbol' ? value.toString() : typeof value === 'function' ? 'function' : 'unknown'];
}

function idKey(id: unknown): string {
  return typeof id === 'string' ? id : `\u0000${JSON.stringify(encodeValue(id))}`;
}

/** Values at a dotted path; traverses arrays of sub-documents like MongoDB does. */
function valuesAtPath(doc: unknown, parts: readonly string[], from = 0): unknown[] {
  if (from === parts.length) return [doc];
  if (Array.isArray(doc)) {
    const part = parts[from]!;
    if (/^\d+$/.test(part)) return valuesAtPath(doc[Number(part)], parts, from + 1);
    const out: unknown[] = [];
    for (const item of doc) {
      if (isPlainObject(item)) out.push(...valuesAtPath(item, parts, from));
    }
    return out;
  }
  if (doc === null || typeof doc !== 'object') return [];
  const next = (doc as Plain)[parts[from]!];
  if (next === undefined) return [];
  return valuesAtPath(next, parts, from + 1);
}

/** BSON type order used for sorting. */
function typeRank(value: unknown): number {
  if (value === undefined || value === null) return 1;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 8;
    default:
      break;
  }
  if (value instanceof Date) return 9;
  if (value instanceof RegExp) return 11;
  if (Array.isArray(value)) return 5;
  return 4;
}

function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
      return 0;
    case 2:
      return Number(a) - Number(b);
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 8:
      return Number(a) - Number(b);
    case 9:
      return (a as Date).getTime() - (b as Date).getTime();
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 4: {
      const ex = Object.entries(a as Plain);
      const ey = Object.entries(b as Plain);
      for (let i = 0; i < Math.min(ex.length, ey.length); i++) {
        const [kx, vx] = ex[i]!;
        const [ky, vy] = ey[i]!;
        const c = typeRank(vx) - typeRank(vy) || (kx < ky ? -1 : kx > ky ? 1 : 0) || compareValues(vx, vy);
        if (c !== 0) return c;
      }
      return ex.length - ey.length;
    }
    default:
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }
}

/** The value a document sorts by for a key: arrays sort by their smallest (asc) or largest (desc) element. */
function sortValue(doc: Plain, parts: readonly string[], direction: 1 | -1): unknown {
  if (parts.length === 1) {
    const value = doc[parts[0]!];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'object') return value;
  }
  const found = valuesAtPath(doc, parts);
  const flat: unknown[] = [];
  for (const v of found) {
    if (Array.isArray(v)) flat.push(...(v as unknown[]));
    else flat.push(v);
  }
  if (flat.length === 0) return found.length > 0 ? undefined : null;
  let best = flat[0];
  for (let i = 1; i < flat.length; i++) {
    const c = compareValues(flat[i], best);
    if (direction === 1 ? c < 0 : c > 0) best = flat[i];
  }
  return best;
}

interface SortRow {
  doc: Plain;
  /** Natural order: ties keep it. */
  i: number;
  values: unknown[];
}

/**
 * Sorts documents by a sort specification and returns the first `keep`
 * (all when undefined). Each document's sort values are computed once (not
 * once per comparison); ties keep natural order. When only a small first
 * part is wanted (a page of a long list), a bounded heap selects it in
 * O(n log keep) instead of sorting everything.
 */
function sortDocuments(docs: readonly Plain[], sort: Sort, keep?: number): Plain[] {
  const keys = Object.entries(sort).map(([path, dir]) => ({ parts: path.split('.'), dir }));
  if (keys.length === 0) return keep === undefined ? [...docs] : docs.slice(0, keep);
  const compare = (a: SortRow, b: SortRow): number => {
    for (let k = 0; k < keys.length; k++) {
      const x = a.values[k];
      const y = b.values[k];
      const c = typeof x === 'string' && typeof y === 'string' ? (x < y ? -1 : x > y ? 1 : 0) : compareValues(x, y);
      if (c !== 0) return keys[k]!.dir === 1 ? c : -c;
    }
    return a.i - b.i;
  };
  const rowOf = (doc: Plain, i: number): SortRow => ({ doc, i, values: keys.map(({ parts, dir }) => sortValue(doc, parts, dir)) });
  if (keep === undefined || keep * 4 >= docs.length) {
    const rows = docs.map(rowOf);
    rows.sort(compare);
    return (keep === undefined ? rows : rows.slice(0, keep)).map((row) => row.doc);
  }
  if (keep <= 0) return [];
  // Max-heap of the best `keep` rows so far: the worst of them on top.
  const heap: SortRow[] = [];
  const siftUp = (at: number): void => {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (compare(heap[at]!, heap[parent]!) <= 0) return;
      [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
      at = parent;
    }
  };
  const siftDown = (at: number): void => {
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let worst = at;
      if (left < heap.length && compare(heap[left]!, heap[worst]!) > 0) worst = left;
      if (right < heap.length && compare(heap[right]!, heap[worst]!) > 0) worst = right;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst]!, heap[at]!];
      at = worst;
    }
  };
  for (let i = 0; i < docs.length; i++) {
    const row = rowOf(docs[i]!, i);
    if (heap.length < keep) {
      heap.push(row);
      siftUp(heap.length - 1);
    } else if (compare(row, heap[0]!) < 0) {
      heap[0] = row;
      siftDown(0);
    }
  }
  heap.sort(compare);
  return heap.map((row) => row.doc);
}

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

const FAST_OPS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists']);

type FieldTest = (value: unknown) => boolean;

function scalarEq(value: unknown, operand: string | number | boolean | null): boolean {
  if (operand === null) return value === null || value === undefined;
  return value === operand;
}

function scalarCompare(value: unknown, operand: string | number, accept: (c: number) => boolean): boolean {
  if (typeof value !== typeof operand) return false;
  if (typeof operand === 'number') return accept((value as number) - operand);
  return accept((value as string) < operand ? -1 : (value as string) > operand ? 1 : 0);
}

/**
 * Compiles the fast-path test for one top-level field, or returns undefined if
 * the condition is outside the fast path. The test is only ever applied to
 * scalar or missing values; documents holding arrays or objects in a tested
 * field go to mingo.
 */
function compileFieldTest(condition: unknown): FieldTest | undefined {
  if (condition === null || isScalar(condition)) {
    if (typeof condition === 'number' && Number.isNaN(condition)) return undefined;
    const operand = condition;
    return (v) => scalarEq(v, operand);
  }
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length === 0 || !keys.every((k) => FAST_OPS.has(k))) return undefined;
  const tests: FieldTest[] = [];
  for (const op of keys) {
    const operand = condition[op];
    switch (op) {
      case '$eq':
      case '$ne': {
        if (!(operand === null || isScalar(operand)) || Number.isNaN(operand)) return undefined;
        const o = operand;
        tests.push(op === '$eq' ? (v) => scalarEq(v, o) : (v) => !scalarEq(v, o));
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        if (typeof operand !== 'string' && (typeof operand !== 'number' || Number.isNaN(operand))) return undefined;
        const o = operand;
        const accept =
          op === '$gt'
            ? (c: number) => c > 0
            : op === '$gte'
              ? (c: number) => c >= 0
              : op === '$lt'
                ? (c: number) => c < 0
                : (c: number) => c <= 0;
        tests.push((v) => scalarCompare(v, o, accept));
        break;
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) return undefined;
        if (!operand.every((x) => x === null || (isScalar(x) && !Number.isNaN(x)))) return undefined;
        const list = operand as (string | number | boolean | null)[];
        const hasNull = list.includes(null);
        const set = new Set(list.filter((x) => x !== null));
        const inList = (v: unknown): boolean => (v === null || v === undefined ? hasNull : set.has(v as string));
        tests.push(op === '$in' ? inList : (v) => !inList(v));
        break;
      }
      case '$exists': {
        if (typeof operand !== 'boolean') return undefined;
        const want = operand;
        tests.push((v) => (v !== undefined) === want);
        break;
      }
      default:
        return undefined;
    }
  }
  return tests.length === 1 ? tests[0] : (v) => tests.every((t) => t(v));
}

/**
 * The fast-path matcher for a filter made of top-level field conditions and
 * top-level `$and`s of such filters, or undefined when the filter needs mingo.
 * It answers "no" or "yes" for documents whose tested fields hold scalars (or
 * are missing), and "ask mingo" (undefined) for the rest.
 */
function compileFast(filter: Filter): ((doc: Plain) => boolean | undefined) | undefined {
  const fields: { key: string; test: FieldTest }[] = [];
  const branches: ((doc: Plain) => boolean | undefined)[] = [];
  for (const key of Object.keys(filter)) {
    if (key === '$and') {
      const list = filter[key];
      if (!Array.isArray(list) || list.length === 0) return undefined;
      for (const branch of list) {
        if (!isPlainObject(branch)) return undefined;
        const compiled = compileFast(branch);
        if (!compiled) return undefined;
        branches.push(compiled);
      }
      continue;
    }
    if (key.startsWith('$') || key.includes('.')) return undefined;
    const test = compileFieldTest(filter[key]);
    if (!test) return undefined;
    fields.push({ key, test });
  }
  return (doc) => {
    let unsure = false;
    for (const { key, test } of fields) {
      const value = doc[key];
      if (value !== null && typeof value === 'object') unsure = true;
      else if (!test(value)) return false;
    }
    for (const branch of branches) {
      const verdict = branch(doc);
      if (verdict === false) return false;
      if (verdict === undefined) unsure = true;
    }
    return unsure ? undefined : true;
  };
}

function compileFilter(filter: Filter): Matcher {
  if (Object.keys(filter).length === 0) return () => true;
  const fast = compileFast(filter);
  // Validate eagerly so that a malformed filter fails even on an empty collection.
  let mingo: Query | undefined = fast ? undefined : new Query(filter, MINGO_OPTIONS);
  const slow: Matcher = (doc) => {
    mingo ??= new Query(filter, MINGO_OPTIONS);
    return mingo.test(doc);
  };
  if (!fast) return slow;
  return (doc) => fast(doc) ?? slow(doc);
}

/**
 * Top-level equalities of a filter on scalars (`{f: v}`, `{f: {$eq: v}}`,
 * also inside top-level `$and`s): a document can only match if its field
 * `f` holds `v` (or an array or sub-document, which partitions keep apart).
 */
function scalarEqualities(filter: Filter, out: Map<string, string | number | boolean> = new Map()): Map<string, string | number | boolean> {
  for (const key of Object.keys(filter)) {
    const cond = filter[key];
    if (key === '$and') {
      if (Array.isArray(cond)) for (const branch of cond) if (isPlainObject(branch)) scalarEqualities(branch, out);
      continue;
    }
    if (key.startsWith('$') || key.includes('.')) continue;
    if (isScalar(cond) && !Number.isNaN(cond)) out.set(key, cond);
    else if (isPlainObject(cond) && Object.keys(cond).length === 1 && isScalar(cond['$eq']) && !Number.isNaN(cond['$eq'])) {
      out.set(key, cond['$eq']);
    }
  }
  return out;
}

/** `_id` values a filter is restricted to, if it names them by equality or `$in`. */
function idCandidates(filter: Filter): unknown[] | undefined {
  if (Object.prototype.hasOwnProperty.call(filter, '_id')) {
    const cond = filter['_id'];
    if (isScalar(cond)) return [cond];
    if (isPlainObject(cond)) {
      const ks = Object.keys(cond);
      if (ks.length >= 1) {
        if ('$eq' in cond && isScalar(cond['$eq'])) return [cond['$eq']];
        if ('$in' in cond && Array.isArray(cond['$in']) && cond['$in'].every((x) => isScalar(x))) {
          return cond['$in'];
        }
      }
    }
  }
  const and = filter['$and'];
  if (Array.isArray(and)) {
    for (const branch of and) {
      if (isPlainObject(branch)) {
        const c = idCandidates(branch);
        if (c) return c;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------

const FAST_UPDATE_OPS = new Set(['$set', '$unset', '$inc', '$setOnInsert']);

function assertUpdateDocument(update: Update): void {
  const keys = Object.keys(update);
  if (keys.length === 0) throw new Error('update document must not be empty');
  for (const k of keys) {
    if (!k.startsWith('$')) throw new Error('update document requires atomic operators (e.g. $set)');
    if (!isPlainObject(update[k])) throw new Error(`modifier ${k} expects an object`);
  }
}

function assertReplacement(replacement: unknown): asserts replacement is Plain {
  if (!isPlainObject(replacement)) throw new Error('replacement must be a document');
  for (const k of Object.keys(replacement)) {
    if (k.startsWith('$')) throw new Error('replacement document must not contain update operators');
  }
}

/**
 * Applies an update to `doc` (a private copy, mutated in place). Returns
 * whether anything changed. `$setOnInsert` applies only when inserting.
 */
/** Whether an update only sets, unsets or increments top-level fields (the fast path of applyUpdate). */
function isTopLevelUpdate(update: Update): boolean {
  for (const op of Object.keys(update)) {
    if (!FAST_UPDATE_OPS.has(op)) return false;
    for (const f of Object.keys(update[op] as Plain)) if (f.includes('.') || f.startsWith('$')) return false;
  }
  return true;
}

function applyUpdate(doc: Plain, update: Update, inserting: boolean): boolean {
  const ops = Object.keys(update);
  if (isTopLevelUpdate(update)) {
    const touched = new Set<string>();
    for (const op of ops) {
      for (const field of Object.keys(update[op] as Plain)) {
        if (touched.has(field)) throw new Error(`Updating the path '${field}' would create a conflict at '${field}'`);
        touched.add(field);
      }
    }
    let modified = false;
    for (const op of ops) {
      if (op === '$setOnInsert' && !inserting) continue;
      const spec = update[op] as Plain;
      for (const field of Object.keys(spec)) {
        const operand = spec[field];
        if (op === '$set' || op === '$setOnInsert') {
          if (!(field in doc) || !deepEqual(doc[field], operand)) {
            doc[field] = cloneValue(operand);
            modified = true;
          }
        } else if (op === '$unset') {
          if (field in doc) {
            delete doc[field];
            modified = true;
          }
        } else {
          if (typeof operand !== 'number') throw new Error(`Cannot increment with non-numeric argument: {${field}: ${String(operand)}}`);
          const current = doc[field];
          if (current === undefined) {
            doc[field] = operand;
            modified = true;
          } else if (typeof current === 'number') {
            if (operand !== 0) {
              doc[field] = current + operand;
              modified = true;
            }
          } else {
            throw new Error(`Cannot apply $inc to a value of non-numeric type (field '${field}')`);
          }
        }
      }
    }
    return modified;
  }

  const expr: Plain = {};
  for (const op of ops) {
    if (op === '$setOnInsert') continue;
    expr[op] = update[op];
  }
  if (inserting && update['$setOnInsert']) {
    const set = { ...((expr['$set'] as Plain | undefined) ?? {}) };
    for (const [k, v] of Object.entries(update['$setOnInsert'] as Plain)) {
      if (k in set) throw new Error(`Updating the path '${k}' would create a conflict at '${k}'`);
      set[k] = v;
    }
    expr['$set'] = set;
  }
  if (Object.keys(expr).length === 0) return false;
  const changed = mingoUpdate(doc, expr, undefined, undefined, {
    cloneMode: 'deep',
    queryOptions: MINGO_OPTIONS,
  });
  return changed.length > 0;
}

function setPath(doc: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const next = cur[p];
    if (next === undefined) {
      const created: Plain = {};
      cur[p] = created;
      cur = created;
    } else if (isPlainObject(next)) {
      cur = next;
    } else {
      throw new Error(`cannot infer query fields to set, path '${path}' conflicts with another equality`);
    }
  }
  const last = parts[parts.length - 1]!;
  if (last in cur) throw new Error(`cannot infer query fields to set, path '${path}' is matched twice`);
  cur[last] = cloneValue(value);
}

/** Equality fields of a filter that MongoDB copies into an upserted document. */
function collectEqualities(filter: Filter, out: [string, unknown][]): void {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and') {
      if (Array.isArray(cond)) for (const b of cond) if (isPlainObject(b)) collectEqualities(b, out);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isPlainObject(cond)) {
      const ks = Object.keys(cond);
      if (ks.length > 0 && ks.every((k) => k.startsWith('$'))) {
        if ('$eq' in cond) out.push([key, cond['$eq']]);
        continue;
      }
    }
    if (cond instanceof RegExp) continue;
    out.push([key, cond]);
  }
}

function seedFromFilter(filter: Filter): Plain {
  const pairs: [string, unknown][] = [];
  collectEqualities(filter, pairs);
  const doc: Plain = {};
  // _id first, as MongoDB does.
  pairs.sort((a, b) => Number(b[0] === '_id') - Number(a[0] === '_id'));
  for (const [path, value] of pairs) setPath(doc, path, value);
  return doc;
}

// ---------------------------------------------------------------------------
// Projection
// ---------------------------------------------------------------------------

/** A function copying a stored document out, projected. */
function makeProjector(projection: Projection | undefined): (doc: Plain) => Plain {
  if (!projection || Object.keys(projection).length === 0) return (doc) => copyData(doc);
  const query = new Query({}, MINGO_OPTIONS);
  return (doc) => {
    const [result] = query.find<Plain>([doc], projection).all();
    return copyData(result ?? {});
  };
}

// ---------------------------------------------------------------------------
// Store state
// ---------------------------------------------------------------------------

interface UniqueIndex {
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
interface Partition {
  /** Keys of documents whose field holds a string, by that string. */
  strings: Map<string, Set<string>>;
  /** Keys of documents whose field holds another scalar or nothing, by `partitionKey`. */
  others: Map<string, Set<string>>;
  irregular: Set<string>;
}

/** The bucket of a non-string value in a partition, or undefined for values that are neither scalar nor missing. */
function partitionKey(value: unknown): string | undefined {
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
function bucketOf(partition: Partition, value: unknown): [Map<string, Set<string>>, string] | undefined {
  if (typeof value === 'string') return [partition.strings, value];
  const key = partitionKey(value);
  return key === undefined ? undefined : [partition.others, key];
}

class CollectionState {
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

const EMPTY_KEYS: ReadonlySet<string> = new Set<string>();

function sameIndexSpec(a: IndexSpec, b: IndexSpec): boolean {
  return (
    deepEqual(a.keys, b.keys) &&
    Boolean(a.unique) === Boolean(b.unique) &&
    deepEqual(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null)
  );
}

const EMPTY_BULK = (): BulkWriteResult => ({
  insertedCount: 0,
  matchedCount: 0,
  modifiedCount: 0,
  deletedCount: 0,
  upsertedCount: 0,
  duplicateKeyErrors: [],
});

// ---------------------------------------------------------------------------
// Collection handle
// ---------------------------------------------------------------------------

class MemoryCollection<T extends Document> implements Collection<T> {
  constructor(
    private readonly store: MemoryDocumentStore,
    readonly name: string,
  ) {}

  private get state(): CollectionState | undefined {
    return this.store.state(this.name);
  }

  private get writable(): CollectionState {
    return this.store.state(this.name, true)!;
  }

  private select(filter: Filter, options: FindOptions = {}): Plain[] {
    const state = this.state;
    if (!state) {
      compileFilter(filter); // still reject malformed filters
      return [];
    }
    const skip = options.skip ?? 0;
    const limit = options.limit ?? 0;
    if (!options.sort || Object.keys(options.sort).length === 0) {
      const out: Plain[] = [];
      let skipped = 0;
      for (const doc of state.match(filter)) {
        if (skipped < skip) {
          skipped++;
          continue;
        }
        out.push(doc);
        if (limit > 0 && out.length >= limit) break;
      }
      return out;
    }
    const sorted = sortDocuments([...state.match(filter)], options.sort, limit > 0 ? skip + limit : undefined);
    return skip > 0 ? sorted.slice(skip) : sorted;
  }

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    const [doc] = this.select(filter, { ...options, limit: 1 });
    return doc ? (makeProjector(options.projection)(doc) as T) : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const project = makeProjector(options.projection);
    return this.select(filter, options).map((d) => project(d) as T);
  }

  stream(filter: Filter, options: FindOptions = {}): AsyncIterable<T> {
    // Like a MongoDB cursor, nothing runs before the first pull. Stored
    // documents are immutable, so the selected references are a consistent
    // snapshot; copies are made one at a time as the caller pulls.
    const select = (): Plain[] => this.select(filter, options);
    const project = makeProjector(options.projection);
    return (async function* () {
      for (const doc of select()) yield project(doc) as T;
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    const state = this.state;
    if (!state) return 0;
    if (Object.keys(filter).length === 0) return state.docs.size;
    let n = 0;
    for (const _ of state.match(filter)) n++;
    return n;
  }

  async insertOne(document: T): Promise<void> {
    this.insertSync(document);
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.updateSync(filter, update, options.upsert ?? false, false);
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.updateSync(filter, update, false, true);
  }

  async replaceOne(filter: Filter, replacement: T, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.replaceSync(filter, replacement, options.upsert ?? false);
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.deleteSync(filter, false);
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.deleteSync(filter, true);
  }

  async bulkWrite(operations: readonly WriteOperation<T>[], options: BulkWriteOptions = {}): Promise<BulkWriteResult> {
    const ordered = options.ordered ?? true;
    const result = EMPTY_BULK();
    let failure: Error | undefined;
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i]!;
      try {
        if ('insertOne' in op) {
          this.insertSync(op.insertOne.document, options.handOver === true);
          result.insertedCount++;
        } else if ('deleteOne' in op) {
          result.deletedCount += this.deleteSync(op.deleteOne.filter, false);
        } else if ('deleteMany' in op) {
          result.deletedCount += this.deleteSync(op.deleteMany.filter, true);
        } else {
          let r: UpdateResult;
          if ('updateOne' in op) r = this.updateSync(op.updateOne.filter, op.updateOne.update, op.updateOne.upsert ?? false, false);
          else if ('updateMany' in op) r = this.updateSync(op.updateMany.filter, op.updateMany.update, false, true);
          else if ('replaceOne' in op) r = this.replaceSync(op.replaceOne.filter, op.replaceOne.replacement, op.replaceOne.upsert ?? false);
          else throw new Error(`unknown bulk write operation at index ${i}: ${JSON.stringify(Object.keys(op))}`);
          result.matchedCount += r.matchedCount;
          result.modifiedCount += r.modifiedCount;
          result.upsertedCount += r.upsertedCount;
        }
      } catch (err) {
        if (err instanceof DuplicateKeyError) {
          result.duplicateKeyErrors.push(i);
          if (ordered) break;
          continue;
        }
        if (ordered) throw err;
        failure ??= err instanceof Error ? err : new Error('bulk write operation failed', { cause: err });
      }
    }
    if (failure !== undefined) throw failure;
    return result;
  }

  async createIndexes(indexes: readonly IndexSpec[]): Promise<void> {
    const state = this.writable;
    for (const spec of indexes) {
      const existing = state.indexes.get(spec.name);
      if (existing) {
        if (!sameIndexSpec(existing, spec)) {
          throw new Error(`index ${spec.name} already exists on ${this.name} with different options`);
        }
        continue;
      }
      if (spec.name === ID_INDEX) continue;
      const copy: IndexSpec = structuredClone(spec);
      const first = Object.keys(copy.keys)[0];
      if (first !== undefined) state.partitionBy(first);
      if (copy.unique) {
        const index: UniqueIndex = {
          spec: copy,
          paths: Object.keys(copy.keys).map((p) => p.split('.')),
          flat: Object.keys(copy.keys).every((p) => !p.includes('.')),
          partial: copy.partialFilterExpression ? compileFilter(copy.partialFilterExpression) : undefined,
          entries: new Map(),
        };
        for (const [key, doc] of state.docs) {
          for (const k of state.keysFor(index, doc)) {
            const owner = index.entries.get(k);
            if (owner !== undefined && owner !== key) throw new DuplicateKeyError(this.name, copy.name);
            index.entries.set(k, key);
          }
        }
        state.unique.push(index);
      }
      state.indexes.set(copy.name, copy);
    }
  }

  async drop(): Promise<void> {
    this.store.dropState(this.name);
  }

  /** Index specs, for diagnostics and tests. */
  listIndexes(): IndexSpec[] {
    return [...(this.state?.indexes.values() ?? [])].map((s) => structuredClone(s));
  }

  // --- synchronous cores (atomic) ---

  private insertSync(document: T, handedOver = false): void {
    if (!isPlainObject(document)) throw new Error('document must be an object');
    const doc = handedOver ? (document as Plain) : (copyData(document) as Plain);
    if (Object.keys(doc)[0] === '_id') {
      this.writable.insert(this.name, doc);
      return;
    }
    const { _id = randomUUID(), ...rest } = doc;
    this.writable.insert(this.name, { _id, ...rest });
  }

  private updateSync(filter: Filter, update: Update, upsert: boolean, many: boolean): UpdateResult {
    assertUpdateDocument(update);
    const state = this.state;
    let matched = 0;
    let modified = 0;
    if (state) {
      const targets: Plain[] = [];
      for (const doc of state.match(filter)) {
        targets.push(doc);
        if (!many) break;
      }
      // Stored documents are never mutated, so an update confined to
      // top-level fields may share the untouched sub-documents of `prev`.
      const shallow = isTopLevelUpdate(update);
      for (const prev of targets) {
        matched++;
        const next = shallow ? { ...prev } : copyData(prev);
        if (!applyUpdate(next, update, false)) continue;
        if (!deepEqual(next['_id'], prev['_id'])) {
          throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
        }
        state.replace(this.name, prev, next);
        modified++;
      }
    }
    if (matched > 0 || !upsert) return { matchedCount: matched, modifiedCount: modified, upsertedCount: 0 };
    const doc = seedFromFilter(filter);
    const seededId = doc['_id'];
    applyUpdate(doc, update, true);
    if (seededId !== undefined && !deepEqual(doc['_id'], seededId)) {
      throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    const { _id = randomUUID(), ...rest } = doc;
    this.writable.insert(this.name, { _id, ...rest });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private replaceSync(filter: Filter, replacement: T, upsert: boolean): UpdateResult {
    assertReplacement(replacement);
    const state = this.state;
    if (state) {
      for (const prev of state.match(filter)) {
        const body = copyData(replacement) as Plain;
        if (body['_id'] !== undefined && !deepEqual(body['_id'], prev['_id'])) {
          throw new Error("the (immutable) field '_id' was found to have been altered");
        }
        delete body['_id'];
        const next: Plain = { _id: prev['_id'], ...body };
        if (deepEqual(next, prev)) return { matchedCount: 1, modifiedCount: 0, upsertedCount: 0 };
        state.replace(this.name, prev, next);
        return { matchedCount: 1, modifiedCount: 1, upsertedCount: 0 };
      }
    } else {
      compileFilter(filter);
    }
    if (!upsert) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
    const body = copyData(replacement) as Plain;
    let id = body['_id'];
    if (id === undefined) {
      const seed = seedFromFilter(filter);
      id = seed['_id'] ?? randomUUID();
    }
    delete body['_id'];
    this.writable.insert(this.name, { _id: id, ...body });
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  private deleteSync(filter: Filter, many: boolean): number {
    const state = this.state;
    if (!state) {
      compileFilter(filter);
      return 0;
    }
    const victims: Plain[] = [];
    for (const doc of state.match(filter)) {
      victims.push(doc);
      if (!many) break;
    }
    for (const doc of victims) state.remove(doc);
    return victims.length;
  }
}

// ---------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------

export class MemoryDocumentStore implements DocumentStore {
  readonly kind = 'memory' as const;
  private readonly collections = new Map<string, CollectionState>();

  collection<T extends Document = Document>(name: string): Collection<T> {
    if (typeof name !== 'string' || name.length === 0) throw new Error('collection name must be a non-empty string');
    return new MemoryCollection<T>(this, name);
  }

  /** @internal used by collection handles */
  state(name: string, create = false): CollectionState | undefined {
    let state = this.collections.get(name);
    if (!state && create) {
      state = new CollectionState();
      this.collections.set(name, state);
    }
    return state;
  }

  /** @internal */
  dropState(name: string): void {
    this.collections.delete(name);
  }

  async listCollections(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  /**
   * @internal The stored documents of a collection by `_id` key, as
   * references (never mutate them). A write replaces a document's reference,
   * so comparing two snapshots by reference finds what changed between them
   * (used by staged rebuilds, see projections/runtime/staging.ts).
   */
  snapshot(name: string): Map<string, Document> {
    return new Map(this.collections.get(name)?.docs as Map<string, Document> | undefined);
  }

  async renameCollection(from: string, to: string): Promise<void> {
    if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
    const state = this.collections.get(from);
    if (!state) throw new Error(`cannot rename collection ${from}: it does not exist`);
    this.collections.delete(from);
    this.collections.set(to, state);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
