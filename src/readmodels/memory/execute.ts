/**
 * Runs the planner's plans: finds and counts the matching stored documents
 * (references: the caller copies what it hands out), counting the documents
 * and index keys it examines.
 */
import type { Filter, Sort } from '../port.js';
import { entryComparator } from './indexes.js';
import { plan, type IndexPlan, type KeyRange, type PlannerSource } from './planner.js';
import { sortDocuments } from './sort.js';
import { compareValues, idKey, type Plain } from './values.js';
import type { Matcher } from './filters.js';

export interface SelectOptions {
  sort?: Sort | undefined;
  skip?: number | undefined;
  /** 0 or undefined: no limit. */
  limit?: number | undefined;
}

/** Matching documents in sort order (or the plan's order without a sort), after `skip`, at most `limit`. */
export function findDocuments(source: PlannerSource, filter: Filter, matcher: Matcher, options: SelectOptions = {}): Plain[] {
  const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
  const skip = options.skip ?? 0;
  const limit = options.limit ?? 0;
  const chosen = plan(source, filter, sort);
  switch (chosen.kind) {
    case 'ids':
      return page(byIds(source, chosen.ids, matcher), sort, skip, limit);
    case 'unique':
      return page(byKey(source, chosen.owner, matcher), sort, skip, limit);
    case 'index':
      return findByIndex(source, chosen, matcher, sort, skip, limit);
    case 'scan':
      return scan(source, matcher, sort, skip, limit);
  }
}

/** How many documents match. */
export function countMatches(source: PlannerSource, filter: Filter, matcher: Matcher): number {
  const chosen = plan(source, filter, undefined);
  switch (chosen.kind) {
    case 'ids':
      return byIds(source, chosen.ids, matcher).length;
    case 'unique':
      return byKey(source, chosen.owner, matcher).length;
    case 'scan': {
      let n = 0;
      for (const doc of source.docs.values()) {
        source.stats.docsExamined++;
        if (matcher(doc)) n++;
      }
      return n;
    }
    case 'index': {
      let n = 0;
      if (chosen.covered) {
        // Every entry in the ranges is a match, and no document has two.
        const visit = (): boolean => {
          n++;
          return true;
        };
        for (const range of chosen.ranges) walkRange(source, chosen, range, false, visit);
        return n;
      }
      const take = taker(source, chosen, matcher);
      const visit = (key: string): boolean => {
        if (take(key)) n++;
        return true;
      };
      for (const range of chosen.ranges) walkRange(source, chosen, range, false, visit);
      for (const key of chosen.index.irregular) visit(key);
      return n;
    }
  }
}

/** How a query would be answered, for tests and diagnostics (like MongoDB's `explain`, without running it). */
export interface QueryPlanDescription {
  /** `ids`: `_id` lookups; `unique`: one unique index lookup; `index`: ordered index ranges; `scan`: every document. */
  plan: 'ids' | 'unique' | 'index' | 'scan';
  index?: string;
  /** Index ranges walked. */
  ranges?: number;
  /** How the index order serves the sort: `forward`/`backward` walk, `merge` of the ranges; `none`: the candidates are sorted. */
  order?: 'forward' | 'backward' | 'merge-forward' | 'merge-backward' | 'none';
  /** The index bounds are the whole filter: documents are not tested. */
  covered?: boolean;
}

export function describePlan(source: PlannerSource, filter: Filter, sort?: Sort): QueryPlanDescription {
  const chosen = plan(source, filter, sort && Object.keys(sort).length > 0 ? sort : undefined);
  switch (chosen.kind) {
    case 'ids':
    case 'scan':
      return { plan: chosen.kind };
    case 'unique':
      return { plan: 'unique', index: chosen.index.spec.name };
    case 'index': {
      const walk = chosen.walk;
      const order = walk ? `${walk.merge ? 'merge-' : ''}${walk.backward ? 'backward' : 'forward'}` : 'none';
      return {
        plan: 'index',
        index: chosen.index.name,
        ranges: chosen.ranges.length,
        order: order as QueryPlanDescription['order'],
        covered: chosen.covered,
      };
    }
  }
}

function page(docs: Plain[], sort: Sort | undefined, skip: number, limit: number): Plain[] {
  if (sort) {
    const sorted = sortDocuments(docs, sort, limit > 0 ? skip + limit : undefined);
    return skip > 0 ? sorted.slice(skip) : sorted;
  }
  return skip > 0 || (limit > 0 && docs.length > limit) ? docs.slice(skip, limit > 0 ? skip + limit : undefined) : docs;
}

function byIds(source: PlannerSource, ids: readonly unknown[], matcher: Matcher): Plain[] {
  const seen = new Set<string>();
  const picked: Plain[] = [];
  for (const id of ids) {
    const key = idKey(id);
    if (seen.has(key)) continue;
    seen.add(key);
    source.stats.keysExamined++;
    const doc = source.docs.get(key);
    if (!doc) continue;
    source.stats.docsExamined++;
    if (matcher(doc)) picked.push(doc);
  }
  // Several ids: ascending _id order, as an _id index scan gives in MongoDB.
  if (picked.length > 1) picked.sort((a, b) => compareValues(a['_id'], b['_id']));
  return picked;
}

function byKey(source: PlannerSource, key: string | undefined, matcher: Matcher): Plain[] {
  source.stats.keysExamined++;
  const doc = key === undefined ? undefined : source.docs.get(key);
  if (!doc) return [];
  source.stats.docsExamined++;
  return matcher(doc) ? [doc] : [];
}

function scan(source: PlannerSource, matcher: Matcher, sort: Sort | undefined, skip: number, limit: number): Plain[] {
  const out: Plain[] = [];
  const want = !sort && limit > 0 ? skip + limit : Infinity;
  for (const doc of source.docs.values()) {
    source.stats.docsExamined++;
    if (!matcher(doc)) continue;
    out.push(doc);
    if (out.length >= want) break;
  }
  return page(out, sort, skip, limit);
}

/** A function fetching the document of an entry and testing it: the document if it matches (once per document). */
function taker(source: PlannerSource, chosen: IndexPlan, matcher: Matcher): (key: string) => Plain | undefined {
  const seen = chosen.index.multikeyDocuments > 0 ? new Set<string>() : undefined;
  const covered = chosen.covered;
  return (key) => {
    if (seen) {
      if (seen.has(key)) return undefined;
      seen.add(key);
    }
    const doc = source.docs.get(key);
    if (!doc) return undefined;
    source.stats.docsExamined++;
    return covered || matcher(doc) ? doc : undefined;
  };
}

function findByIndex(
  source: PlannerSource,
  chosen: IndexPlan,
  matcher: Matcher,
  sort: Sort | undefined,
  skip: number,
  limit: number,
): Plain[] {
  const take = taker(source, chosen, matcher);
  const out: Plain[] = [];
  if (sort && !chosen.walk) {
    // The index narrows, the sort is done here.
    const visit = (key: string): boolean => {
      const doc = take(key);
      if (doc) out.push(doc);
      return true;
    };
    for (const range of chosen.ranges) walkRange(source, chosen, range, false, visit);
    for (const key of chosen.index.irregular) visit(key);
    return page(out, sort, skip, limit);
  }
  // In index order (which is the sort's, if any): stop after skip + limit matches.
  const want = limit > 0 ? skip + limit : Infinity;
  const visit = (key: string): boolean => {
    const doc = take(key);
    if (doc) out.push(doc);
    return out.length < want;
  };
  const backward = chosen.walk?.backward ?? false;
  if (chosen.walk?.merge) mergeRanges(source, chosen, backward, visit);
  else {
    const ranges = backward ? [...chosen.ranges].reverse() : chosen.ranges;
    for (const range of ranges) if (!walkRange(source, chosen, range, backward, visit)) break;
  }
  // Without a sort, documents the index cannot place come last (with a sort, a walk requires there are none).
  if (!sort && out.length < want) for (const key of chosen.index.irregular) if (!visit(key)) break;
  return skip > 0 ? out.slice(skip) : out;
}

/** Visits the entries of one range in key order (or backwards) until `visit` returns false; false if it stopped early. */
function walkRange(source: PlannerSource, chosen: IndexPlan, range: KeyRange, backward: boolean, visit: (key: string) => boolean): boolean {
  const { tree, compare } = chosen.index;
  const stats = source.stats;
  const pair: unknown[] = [];
  if (!backward) {
    let stopped = false;
    tree.forRange(range.start, range.end, true, (_entry, key) => {
      stats.keysExamined++;
      if (visit(key)) return undefined;
      stopped = true;
      return STOP;
    });
    return !stopped;
  } else {
    for (const [entry, key] of tree.entriesReversed(range.end, pair as [unknown[], string])) {
      if (compare(entry, range.start) < 0) break;
      stats.keysExamined++;
      if (!visit(key)) return false;
    }
  }
  return true;
}

/** What a sorted-btree range callback returns to stop the scan. */
const STOP = { break: true };

interface Head {
  entry: unknown[];
  key: string;
  next: () => IteratorResult<[unknown[], string]>;
  range: KeyRange;
}

/**
 * Visits the entries of several ranges in the order of the fields after the
 * fixed ones (a k-way merge): the ranges differ only in fields the sort
 * leaves out.
 */
function mergeRanges(source: PlannerSource, chosen: IndexPlan, backward: boolean, visit: (key: string) => boolean): void {
  const { tree, compare, dirs } = chosen.index;
  const tail = entryComparator(dirs, chosen.fixed);
  const order = backward ? (a: Head, b: Head) => tail(b.entry, a.entry) : (a: Head, b: Head) => tail(a.entry, b.entry);
  const heap: Head[] = [];
  const advance = (head: Head): boolean => {
    const step = head.next();
    if (step.done) return false;
    const [entry, key] = step.value;
    if (backward ? compare(entry, head.range.start) < 0 : compare(entry, head.range.end) > 0) return false;
    head.entry = entry;
    head.key = key;
    return true;
  };
  for (const range of chosen.ranges) {
    const it = backward ? tree.entriesReversed(range.end) : tree.entries(range.start);
    const head: Head = { entry: [], key: '', next: () => it.next(), range };
    if (advance(head)) heapPush(heap, head, order);
  }
  while (heap.length > 0) {
    const head = heap[0]!;
    source.stats.keysExamined++;
    if (!visit(head.key)) return;
    if (advance(head)) heapFix(heap, 0, order);
    else {
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        heapFix(heap, 0, order);
      }
    }
  }
}

function heapPush<T>(heap: T[], item: T, order: (a: T, b: T) => number): void {
  heap.push(item);
  let at = heap.length - 1;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (order(heap[at]!, heap[parent]!) >= 0) return;
    [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
    at = parent;
  }
}

function heapFix<T>(heap: T[], at: number, order: (a: T, b: T) => number): void {
  for (;;) {
    const left = 2 * at + 1;
    const right = left + 1;
    let least = at;
    if (left < heap.length && order(heap[left]!, heap[least]!) < 0) least = left;
    if (right < heap.length && order(heap[right]!, heap[least]!) < 0) least = right;
    if (least === at) return;
    [heap[at], heap[least]] = [heap[least]!, heap[at]!];
    at = least;
  }
}
