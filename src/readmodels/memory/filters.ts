/**
 * Filters: a fast matcher for top-level comparisons with scalars, mingo for
 * everything else, and projections.
 */
import { Query } from 'mingo';
import type { Filter, Projection } from '../port.js';
import { copyData, isPlainObject, isScalar, type Plain } from './values.js';

export type Matcher = (doc: Plain) => boolean;

export const MINGO_OPTIONS = { scriptEnabled: false } as const;

export const FAST_OPS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists']);

export type FieldTest = (value: unknown) => boolean;

export function scalarEq(value: unknown, operand: string | number | boolean | null): boolean {
  if (operand === null) return value === null || value === undefined;
  return value === operand;
}

export function scalarCompare(value: unknown, operand: string | number, accept: (c: number) => boolean): boolean {
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
export function compileFieldTest(condition: unknown): FieldTest | undefined {
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
export function compileFast(filter: Filter): ((doc: Plain) => boolean | undefined) | undefined {
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

export function compileFilter(filter: Filter): Matcher {
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
export function scalarEqualities(
  filter: Filter,
  out: Map<string, string | number | boolean> = new Map(),
): Map<string, string | number | boolean> {
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
export function idCandidates(filter: Filter): unknown[] | undefined {
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

/** A function copying a stored document out, projected. */
export function makeProjector(projection: Projection | undefined): (doc: Plain) => Plain {
  if (!projection || Object.keys(projection).length === 0) return (doc) => copyData(doc);
  const query = new Query({}, MINGO_OPTIONS);
  return (doc) => {
    const [result] = query.find<Plain>([doc], projection).all();
    return copyData(result ?? {});
  };
}
