/**
 * Values with MongoDB semantics: deep copies, structural equality, BSON
 * comparison order, canonical encodings and dotted-path lookups.
 */

export type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function isScalar(value: unknown): value is string | number | boolean {
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/**
 * Deep copy of document data. Plain objects, arrays and Dates (all a
 * projection stores) are copied by hand, several times faster than
 * `structuredClone`; anything else (RegExp, typed arrays, ...) goes through
 * `structuredClone`.
 */
export function copyData<V>(value: V): V {
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

export function cloneValue<V>(value: V): V {
  return copyData(value);
}

/** Structural equality with significant key order, as BSON comparison has. */
export function deepEqual(a: unknown, b: unknown): boolean {
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
export function encodeValue(value: unknown): unknown {
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

export function idKey(id: unknown): string {
  return typeof id === 'string' ? id : `\u0000${JSON.stringify(encodeValue(id))}`;
}

/** Values at a dotted path; traverses arrays of sub-documents like MongoDB does. */
export function valuesAtPath(doc: unknown, parts: readonly string[], from = 0): unknown[] {
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
export function typeRank(value: unknown): number {
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

/** Numbers in BSON order: NaN before every other number, so that the order is total. */
export function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  const na = Number.isNaN(a);
  return na === Number.isNaN(b) ? 0 : na ? -1 : 1;
}

/** Values in BSON comparison order (a total order: a comparator for sorts and ordered indexes). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
      return 0;
    case 2:
      return compareNumbers(Number(a), Number(b));
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 8:
      return Number(a) - Number(b);
    case 9:
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
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
