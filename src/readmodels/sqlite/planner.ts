/**
 * Which rows of the SQLite store a query reads, and in what order.
 *
 * From the filter's top-level fields (and top-level `$and`s) it takes
 * equalities and `$in` lists of scalars (points) and ranges on numbers,
 * strings and Dates. Then, in this order of preference:
 *
 * 1. `_id` equality or `$in`: primary-key lookups;
 * 2. the index that fixes the longest prefix of its fields with points (then:
 *    a range on the next field, then: an order that serves the sort). When
 *    the sort is the index order after single-point fields (forwards or
 *    backwards), rows come in sort order and reading stops after
 *    `skip + limit` matches; otherwise the matches are collected and sorted;
 * 3. a scan of the collection in `_id` order.
 *
 * Rows are candidates: the whole filter is applied to every document read
 * (mingo semantics, as in the memory store), so results are those of a scan.
 * A multikey index (a document held an array in an indexed field) yields a
 * document once per matching element: reads then skip repeats, use one side
 * of a range only (another element may satisfy the other side), and never
 * serve a sort.
 */
import type { Filter, Sort } from '../port.js';
import { idCandidates } from '../memory/filters.js';
import { idKey, isPlainObject } from '../memory/values.js';
import type { CollectionInfo, IndexInfo } from './catalog.js';
import { rankBounds, RANK, valueKey } from './keys.js';
import { columnName } from './catalog.js';

interface Side {
  key: string;
  inclusive: boolean;
}

interface FieldBounds {
  points?: string[];
  lower?: Side;
  upper?: Side;
}

interface Bounds {
  fields: Map<string, FieldBounds>;
  /** Every condition became a bound. */
  exact: boolean;
}

function pointKey(value: unknown): string | undefined {
  if (value === null) return RANK.null;
  if (typeof value === 'string' || typeof value === 'boolean') return valueKey(value);
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : valueKey(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return valueKey(value);
  return undefined;
}

function rangeKey(value: unknown): string | undefined {
  if (typeof value === 'string') return valueKey(value);
  if (typeof value === 'number' && !Number.isNaN(value)) return valueKey(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return valueKey(value);
  return undefined;
}

function fieldBounds(cond: unknown): FieldBounds | undefined {
  const point = pointKey(cond);
  if (point !== undefined) return { points: [point] };
  if (!isPlainObject(cond)) return undefined;
  const ops = Object.keys(cond);
  if (ops.length === 0 || !ops.every((op) => op.startsWith('$'))) return undefined;
  const out: FieldBounds = {};
  let used = 0;
  if ('$eq' in cond) {
    const p = pointKey(cond['$eq']);
    if (p !== undefined) {
      out.points = [p];
      used++;
    }
  }
  if (!out.points && Array.isArray(cond['$in'])) {
    const keys = (cond['$in'] as unknown[]).map(pointKey);
    if (keys.every((k): k is string => k !== undefined)) {
      out.points = [...new Set(keys)].sort();
      used++;
    }
  }
  for (const op of ['$gt', '$gte'] as const) {
    if (!(op in cond)) continue;
    const key = rangeKey(cond[op]);
    if (key === undefined) continue;
    out.lower = { key, inclusive: op === '$gte' };
    used++;
  }
  for (const op of ['$lt', '$lte'] as const) {
    if (!(op in cond)) continue;
    const key = rangeKey(cond[op]);
    if (key === undefined) continue;
    out.upper = { key, inclusive: op === '$lte' };
    used++;
  }
  // A range stays within the type of its operand (BSON comparisons never cross types).
  if (out.lower && !out.upper) out.upper = { key: rankBounds(out.lower.key[0]!)[1], inclusive: false };
  else if (out.upper && !out.lower) out.lower = { key: out.upper.key[0]!, inclusive: true };
  if (used === 0) return undefined;
  if (used !== ops.length) (out as { partial?: true }).partial = true;
  return out;
}

function collectBounds(filter: Filter, out: Bounds): Bounds {
  for (const key of Object.keys(filter)) {
    const cond = filter[key];
    if (key === '$and' && Array.isArray(cond)) {
      for (const branch of cond) {
        if (isPlainObject(branch)) collectBounds(branch, out);
        else out.exact = false;
      }
      continue;
    }
    if (key.startsWith('$') || out.fields.has(key)) {
      out.exact = false;
      continue;
    }
    const bounds = fieldBounds(cond);
    if (!bounds || (bounds as { partial?: true }).partial) out.exact = false;
    if (bounds) out.fields.set(key, bounds);
  }
  return out;
}

export type Plan =
  | { kind: 'ids'; keys: string[] }
  | {
      kind: 'index';
      index: IndexInfo;
      sql: string;
      params: string[];
      /** Rows come in the order of the sort. */
      sorted: boolean;
      /** The bounds are exactly the filter (counting needs no documents). */
      exact: boolean;
    }
  | { kind: 'scan' };

interface Candidate {
  index: IndexInfo;
  points: number;
  range: boolean;
  sorted: boolean;
  reverse: boolean;
  used: number;
}

function serveSort(index: IndexInfo, fields: string[], prefix: number, singlePoints: boolean, sort: Sort | undefined): 0 | 1 | -1 {
  if (!sort || index.multikey || !singlePoints) return 0;
  const keys = Object.entries(sort);
  if (keys.length === 0 || keys.length !== fields.length - prefix) return 0;
  let direction: 0 | 1 | -1 = 0;
  for (let i = 0; i < keys.length; i++) {
    const [field, dir] = keys[i]!;
    if (field !== fields[prefix + i]) return 0;
    const same = dir === index.dirs[prefix + i] ? 1 : -1;
    if (direction === 0) direction = same;
    else if (direction !== same) return 0;
  }
  return direction;
}

/** The plan for a filter and sort on a collection. */
export function plan(info: CollectionInfo, filter: Filter, sort: Sort | undefined): Plan {
  const ids = idCandidates(filter);
  if (ids) return { kind: 'ids', keys: [...new Set(ids.map(idKey))] };
  const bounds = collectBounds(filter, { fields: new Map(), exact: true });
  let best: Candidate | null = null;
  for (const index of info.indexes) {
    if (!index.orderedTable) continue;
    const fields = Object.keys(index.spec.keys);
    let points = 0;
    let singlePoints = true;
    while (points < fields.length && bounds.fields.get(fields[points]!)?.points) {
      if (bounds.fields.get(fields[points]!)!.points!.length > 1) singlePoints = false;
      points++;
    }
    const next = points < fields.length ? bounds.fields.get(fields[points]!) : undefined;
    const range = next?.lower !== undefined;
    // A range on the next field serves a sort on that field: the sort starts there.
    const direction = serveSort(index, fields, points, singlePoints, sort);
    const candidate: Candidate = {
      index,
      points,
      range,
      sorted: direction !== 0,
      reverse: direction === -1,
      used: points + (range ? 1 : 0),
    };
    if (candidate.used === 0 && !candidate.sorted) continue;
    if (
      !best ||
      candidate.points > best.points ||
      (candidate.points === best.points && Number(candidate.range) > Number(best.range)) ||
      (candidate.points === best.points && candidate.range === best.range && candidate.sorted && !best.sorted)
    ) {
      best = candidate;
    }
  }
  if (!best) return { kind: 'scan' };
  const { index } = best;
  const fields = Object.keys(index.spec.keys);
  const where: string[] = [];
  const params: string[] = [];
  for (let i = 0; i < best.points; i++) {
    const points = bounds.fields.get(fields[i]!)!.points!;
    where.push(points.length === 1 ? `i.${columnName(i)} = ?` : `i.${columnName(i)} IN (${points.map(() => '?').join(', ')})`);
    params.push(...points);
  }
  let exact = bounds.exact && !index.multikey && best.used === bounds.fields.size;
  if (best.range) {
    const b = bounds.fields.get(fields[best.points]!)!;
    const column = `i.${columnName(best.points)}`;
    const tight = (side: Side): boolean => side.key.length > 1 || side.inclusive === false;
    // Multikey: one element may satisfy one side and another the other, so only one side bounds the rows.
    if (!index.multikey || tight(b.lower!)) {
      where.push(`${column} ${b.lower!.inclusive ? '>=' : '>'} ?`);
      params.push(b.lower!.key);
    }
    if (!index.multikey || !tight(b.lower!)) {
      where.push(`${column} ${b.upper!.inclusive ? '<=' : '<'} ?`);
      params.push(b.upper!.key);
    }
  } else if (best.points < fields.length && bounds.fields.has(fields[best.points]!)) exact = false;
  let order = '';
  if (best.sorted) {
    const terms: string[] = [];
    for (let i = best.points; i < fields.length; i++) {
      const asc = (index.dirs[i] === 1) !== best.reverse;
      terms.push(`i.${columnName(i)}${asc ? '' : ' DESC'}`);
    }
    terms.push(`i.id${best.reverse ? ' DESC' : ''}`);
    order = ` ORDER BY ${terms.join(', ')}`;
  }
  const whereSql = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  const sql = `SELECT d.doc AS doc, i.id AS id FROM ${index.orderedTable} i JOIN ${info.table} d ON d.k = i.id${whereSql}${order}`;
  return { kind: 'index', index, sql, params, sorted: best.sorted, exact };
}

/** The count of an exact index plan, straight from the index rows. */
export function countSql(p: Extract<Plan, { kind: 'index' }>): string {
  return p.sql
    .replace(/^SELECT d\.doc AS doc, i\.id AS id FROM (\S+) i JOIN \S+ d ON d\.k = i\.id/, 'SELECT count(*) AS n FROM $1 i')
    .replace(/ ORDER BY .*$/, '');
}
