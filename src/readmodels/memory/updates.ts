/** Update documents: validation, the fast path for top-level fields, mingo for the rest, and upsert seeds. */
import { update as mingoUpdate } from 'mingo/updater';
import type { Filter, Update } from '../port.js';
import { MINGO_OPTIONS } from './filters.js';
import { cloneValue, deepEqual, isPlainObject, type Plain } from './values.js';

export const FAST_UPDATE_OPS = new Set(['$set', '$unset', '$inc', '$setOnInsert']);

export function assertUpdateDocument(update: Update): void {
  const keys = Object.keys(update);
  if (keys.length === 0) throw new Error('update document must not be empty');
  for (const k of keys) {
    if (!k.startsWith('$')) throw new Error('update document requires atomic operators (e.g. $set)');
    if (!isPlainObject(update[k])) throw new Error(`modifier ${k} expects an object`);
  }
}

export function assertReplacement(replacement: unknown): asserts replacement is Plain {
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
export function isTopLevelUpdate(update: Update): boolean {
  for (const op of Object.keys(update)) {
    if (!FAST_UPDATE_OPS.has(op)) return false;
    for (const f of Object.keys(update[op] as Plain)) if (f.includes('.') || f.startsWith('$')) return false;
  }
  return true;
}

export function applyUpdate(doc: Plain, update: Update, inserting: boolean): boolean {
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

export function setPath(doc: Plain, path: string, value: unknown): void {
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
export function collectEqualities(filter: Filter, out: [string, unknown][]): void {
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

export function seedFromFilter(filter: Filter): Plain {
  const pairs: [string, unknown][] = [];
  collectEqualities(filter, pairs);
  const doc: Plain = {};
  // _id first, as MongoDB does.
  pairs.sort((a, b) => Number(b[0] === '_id') - Number(a[0] === '_id'));
  for (const [path, value] of pairs) setPath(doc, path, value);
  return doc;
}
