/** Sorting documents by a sort specification, with MongoDB's ordering of values. */
import type { Sort } from '../port.js';
import { compareValues, valuesAtPath, type Plain } from './values.js';

/** The value a document sorts by for a key: arrays sort by their smallest (asc) or largest (desc) element. */
export function sortValue(doc: Plain, parts: readonly string[], direction: 1 | -1): unknown {
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

export interface SortRow {
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
export function sortDocuments(docs: readonly Plain[], sort: Sort, keep?: number): Plain[] {
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
