/**
 * The query planner: which documents a filter must look at, and in what
 * order.
 *
 * From the filter's top-level fields (and top-level `$and`s) it takes
 * equalities (`{f: v}`, `{f: {$eq: v}}`), `$in` lists and ranges
 * (`$gt/$gte/$lt/$lte`) on scalars, strings, numbers and Dates. Then, in this
 * order of preference:
 *
 * 1. `_id` equality or `$in`: Map lookups;
 * 2. equality on every field of a (non-partial) unique index: one Map lookup;
 * 3. the ordered index that fixes the longest prefix of its fields with
 *    equalities and `$in` points (then: a range on the next field, then: an
 *    order that serves the sort, then: fewer ranges). When the sort is the
 *    index order after that prefix (forwards or backwards), the ranges are
 *    walked in sort order and the walk stops after `skip + limit` matches;
 *    otherwise the candidates of the ranges are collected and sorted;
 * 4. a full scan.
 *
 * Whatever an index yields is only a candidate: the whole filter is applied to
 * it (except when the bounds express the filter exactly: see `exact`), so
 * results are those of a scan.
 */
import type { Filter, Sort } from '../port.js';
import { idCandidates, scalarEqualities } from './filters.js';
import { MAX_KEY, MIN_KEY, TypeBound, type OrderedIndex, type UniqueIndex } from './indexes.js';
import { compareValues, encodeValue, isPlainObject, typeRank, type Plain } from './values.js';

/** Work counters, like MongoDB's `totalDocsExamined` / `totalKeysExamined`. */
export interface WorkStats {
  docsExamined: number;
  keysExamined: number;
}

/** What the planner needs of a collection. */
export interface PlannerSource {
  readonly docs: ReadonlyMap<string, Plain>;
  readonly unique: readonly UniqueIndex[];
  readonly stats: WorkStats;
  /** The ordered indexes, up to date. */
  orderedIndexes(): readonly OrderedIndex[];
}

/** At most this many point ranges (the product of `$in` list lengths) per query. */
const MAX_RANGES = 1000;

// ---------------------------------------------------------------------------
// Bounds from a filter
// ---------------------------------------------------------------------------

interface Side {
  value: unknown;
  inclusive: boolean;
}

interface FieldBounds {
  /** From an equality or `$in`: the values, ascending and distinct. */
  points?: unknown[];
  lower?: Side;
  upper?: Side;
  /** BSON type (typeRank) of the range operands. */
  rank?: number;
}

interface Bounds {
  fields: Map<string, FieldBounds>;
  /**
   * The filter is exactly "these bounds": every condition became a bound, and
   * each bound selects exactly the documents its condition matches when the
   * field holds no arrays (non-null scalar points, string ranges).
   */
  exact: boolean;
}

/** A value an equality bound can use: a scalar, null, or a valid Date. */
function pointValue(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return !Number.isNaN(value);
    case 'object':
      return value === null || (value instanceof Date && !Number.isNaN(value.getTime()));
    default:
      return false;
  }
}

/** Whether an equality on this value selects exactly the matching documents (no arrays around). */
function exactPoint(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number';
}

function rangeValue(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    (typeof value === 'number' && !Number.isNaN(value)) ||
    (value instanceof Date && !Number.isNaN(value.getTime()))
  );
}

function distinctSorted(values: readonly unknown[]): unknown[] {
  const sorted = [...values].sort(compareValues);
  return sorted.filter((v, i) => i === 0 || compareValues(sorted[i - 1], v) !== 0);
}

function collectBounds(filter: Filter, out: Bounds): Bounds {
  for (const key of Object.keys(filter)) {
    const cond = filter[key];
    if (key === '$and') {
      if (Array.isArray(cond)) {
        for (const branch of cond) {
          if (isPlainObject(branch)) collectBounds(branch, out);
          else out.exact = false;
        }
      } else out.exact = false;
      continue;
    }
    if (key.startsWith('$')) {
      out.exact = false;
      continue;
    }
    let bounds = out.fields.get(key);
    if (!bounds) out.fields.set(key, (bounds = {}));
    if (pointValue(cond)) {
      addPoints(out, bounds, [cond]);
      continue;
    }
    if (!isPlainObject(cond)) {
      out.exact = false;
      continue;
    }
    const ops = Object.keys(cond);
    if (ops.length === 0 || !ops.every((op) => op.startsWith('$'))) {
      out.exact = false;
      continue;
    }
    for (const op of ops) {
      const operand = cond[op];
      if (op === '$eq' && pointValue(operand)) addPoints(out, bounds, [operand]);
      else if (op === '$in' && Array.isArray(operand) && operand.every(pointValue)) addPoints(out, bounds, operand);
      else if ((op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') && rangeValue(operand)) addRange(out, bounds, op, operand);
      else out.exact = false;
    }
  }
  for (const bounds of out.fields.values()) {
    if (bounds.points && bounds.rank !== undefined) out.exact = false; // the range stays unused
  }
  return out;
}

function addPoints(out: Bounds, bounds: FieldBounds, values: readonly unknown[]): void {
  if (!values.every(exactPoint)) out.exact = false;
  if (bounds.points) {
    // A second equality on the field: the first one bounds (a superset), the filter checks both.
    out.exact = false;
    return;
  }
  bounds.points = distinctSorted(values);
}

function addRange(out: Bounds, bounds: FieldBounds, op: string, value: unknown): void {
  const rank = typeRank(value);
  if (typeof value !== 'string') out.exact = false;
  if (bounds.rank !== undefined && bounds.rank !== rank) {
    out.exact = false; // another type bracket: left to the filter
    return;
  }
  bounds.rank = rank;
  const inclusive = op === '$gte' || op === '$lte';
  if (op === '$gt' || op === '$gte') {
    const c = bounds.lower ? compareValues(value, bounds.lower.value) : 1;
    if (c > 0 || (c === 0 && !inclusive)) bounds.lower = { value, inclusive };
  } else {
    const c = bounds.upper ? compareValues(value, bounds.upper.value) : -1;
    if (c < 0 || (c === 0 && !inclusive)) bounds.upper = { value, inclusive };
  }
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/** A key range of an ordered index: entries from `start` to `end`, both probe keys. */
export interface KeyRange {
  start: unknown[];
  end: unknown[];
}

export interface IndexPlan {
  kind: 'index';
  index: OrderedIndex;
  /** Leading fields fixed by equalities or `$in` points. */
  fixed: number;
  /** Ranges in ascending key order. */
  ranges: KeyRange[];
  /** Set when the index order serves the sort: walk backwards, merge the ranges (instead of concatenating them). */
  walk: { backward: boolean; merge: boolean } | undefined;
  /** The bounds are the whole filter: every entry in the ranges is a match. */
  covered: boolean;
}

export type Plan =
  { kind: 'ids'; ids: unknown[] } | { kind: 'unique'; index: UniqueIndex; owner: string | undefined } | IndexPlan | { kind: 'scan' };

/** Chooses how to answer `filter` (sorted by `sort`, when given). */
export function plan(source: PlannerSource, filter: Filter, sort: Sort | undefined): Plan {
  const ids = idCandidates(filter);
  if (ids) return { kind: 'ids', ids };
  if (source.unique.length > 0) {
    const equalities = scalarEqualities(filter);
    if (equalities.size > 0) {
      for (const index of source.unique) {
        if (index.partial) continue;
        const values: unknown[] = [];
        for (const parts of index.paths) {
          if (parts.length !== 1 || !equalities.has(parts[0]!)) break;
          values.push(encodeValue(equalities.get(parts[0]!)));
        }
        if (values.length === index.paths.length) return { kind: 'unique', index, owner: index.entries.get(JSON.stringify(values)) };
      }
    }
  }
  const ordered = source.orderedIndexes();
  if (ordered.length === 0) return { kind: 'scan' };
  const bounds = collectBounds(filter, { fields: new Map(), exact: true });
  const sortKeys = sort ? Object.entries(sort) : [];
  let best: IndexPlan | undefined;
  let bestScore: number[] = [];
  for (const index of ordered) {
    const candidate = planIndex(index, bounds, sortKeys);
    if (!candidate) continue;
    const score = [candidate.fixed, candidate.ranged ? 1 : 0, candidate.plan.walk ? 1 : 0, -candidate.plan.ranges.length];
    if (!best || isBetter(score, bestScore)) {
      best = candidate.plan;
      bestScore = score;
    }
  }
  return best ?? { kind: 'scan' };
}

function isBetter(score: readonly number[], than: readonly number[]): boolean {
  for (let i = 0; i < score.length; i++) if (score[i] !== than[i]) return score[i]! > than[i]!;
  return false;
}

function planIndex(
  index: OrderedIndex,
  bounds: Bounds,
  sortKeys: [string, 1 | -1][],
): { plan: IndexPlan; fixed: number; ranged: boolean } | undefined {
  const points: unknown[][] = [];
  let product = 1;
  let range: FieldBounds | undefined;
  for (const field of index.fields) {
    const b = bounds.fields.get(field);
    if (!b) break;
    if (b.points) {
      if (product * b.points.length > MAX_RANGES) break;
      points.push(b.points);
      product *= b.points.length;
      continue;
    }
    if (b.rank !== undefined) range = b;
    break;
  }
  const fixed = points.length;
  const walk = sortKeys.length > 0 ? sortWalk(index, points, sortKeys) : undefined;
  if (fixed === 0 && !range && !walk) return undefined;
  const lower = range?.lower;
  let upper = range?.upper;
  // With arrays in the field, each bound may be met by a different element: use one.
  if (range && lower && upper && index.multikey[fixed]! > 0) upper = undefined;
  const used = new Set(index.fields.slice(0, fixed + (range ? 1 : 0)));
  const covered =
    bounds.exact &&
    index.irregular.size === 0 &&
    index.multikeyDocuments === 0 &&
    [...bounds.fields.keys()].every((f) => used.has(f)) &&
    lower === range?.lower &&
    upper === range?.upper;
  const ranges = keyRanges(index, points, range ? { rank: range.rank!, lower, upper } : undefined);
  return { plan: { kind: 'index', index, fixed, ranges, walk, covered }, fixed, ranged: range !== undefined };
}

/**
 * Whether walking the index yields documents in `sortKeys` order, and how.
 * Sort keys on fields fixed to one value drop out; the rest must follow the
 * index fields after them, all in the index's directions (forwards) or all
 * opposite (backwards), optionally ending with `_id` (the entries'
 * tiebreaker). Fields fixed to several `$in` points either come first in the
 * sort (the ranges are then concatenated) or are left out of it (the ranges
 * are then merged).
 */
function sortWalk(index: OrderedIndex, points: readonly unknown[][], sortKeys: [string, 1 | -1][]): IndexPlan['walk'] {
  if (index.irregular.size > 0) return undefined;
  const fixed = points.length;
  const single = (i: number): boolean => i < fixed && points[i]!.length === 1 && index.multikey[i] === 0;
  const keys = sortKeys.filter(([field]) => {
    const i = index.fields.indexOf(field);
    return !(i >= 0 && single(i));
  });
  const tail: number[] = [];
  for (let i = fixed; i < index.fields.length; i++) tail.push(i);
  const several: number[] = [];
  for (let i = 0; i < fixed; i++) if (!single(i)) several.push(i);
  const concat = follows(index, keys, [...several, ...tail]);
  if (concat !== undefined) return { backward: concat < 0, merge: false };
  if (several.length === 0) return undefined;
  const merged = follows(index, keys, tail);
  return merged === undefined ? undefined : { backward: merged < 0, merge: true };
}

/** +1 (forwards) or -1 (backwards) if `keys` are the index fields at `positions` (then `_id`) in a consistent direction. */
function follows(index: OrderedIndex, keys: [string, 1 | -1][], positions: readonly number[]): 1 | -1 | undefined {
  let sign: 1 | -1 | undefined;
  for (let j = 0; j < keys.length; j++) {
    const [field, dir] = keys[j]!;
    let s: 1 | -1;
    if (j < positions.length) {
      const at = positions[j]!;
      if (index.fields[at] !== field || index.multikey[at]! > 0) return undefined;
      s = dir === index.dirs[at] ? 1 : -1;
    } else if (j === positions.length && field === '_id') {
      s = dir;
    } else return undefined;
    if (sign !== undefined && s !== sign) return undefined;
    sign = s;
  }
  return sign ?? 1;
}

/** The key ranges for the points of the leading fields (their cartesian product) and a range on the next field. */
function keyRanges(
  index: OrderedIndex,
  points: readonly unknown[][],
  range: { rank: number; lower?: Side; upper?: Side } | undefined,
): KeyRange[] {
  let prefixes: unknown[][] = [[]];
  points.forEach((values, i) => {
    const ordered = index.dirs[i] === -1 ? [...values].reverse() : values;
    const next: unknown[][] = [];
    for (const prefix of prefixes) for (const v of ordered) next.push([...prefix, v]);
    prefixes = next;
  });
  return prefixes.map((prefix) => {
    if (!range) return { start: [...prefix, MIN_KEY], end: [...prefix, MAX_KEY] };
    const lo = range.lower ?? { value: new TypeBound(range.rank, -1), inclusive: true };
    const hi = range.upper ?? { value: new TypeBound(range.rank, 1), inclusive: true };
    // In key order a descending field starts at its upper bound.
    const [first, last] = index.dirs[prefix.length] === -1 ? [hi, lo] : [lo, hi];
    return {
      start: [...prefix, first.value, first.inclusive ? MIN_KEY : MAX_KEY],
      end: [...prefix, last.value, last.inclusive ? MAX_KEY : MIN_KEY],
    };
  });
}
