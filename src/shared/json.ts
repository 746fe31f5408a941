import { badInput } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 32;

/**
 * Validates user-supplied JSON (variables, plugin default values) and returns
 * a clean copy built from null-prototype-free plain objects. Keys that could
 * pollute prototypes downstream are refused rather than silently dropped, so
 * the user learns their input was not stored as written.
 */
export function sanitizeJsonObject(field: string, value: unknown, maxBytes = 256 * 1024): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badInput(field, `${field} must be a JSON object`);
  }
  const clean = sanitize(field, value, 0) as JsonObject;
  if (Buffer.byteLength(JSON.stringify(clean)) > maxBytes) {
    throw badInput(field, `${field} is larger than ${maxBytes} bytes`);
  }
  return clean;
}

function sanitize(field: string, value: unknown, depth: number): JsonValue {
  if (depth > MAX_DEPTH) throw badInput(field, `${field} is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw badInput(field, `${field} contains a non-finite number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => sanitize(field, item, depth + 1));
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (FORBIDDEN_KEYS.has(key)) throw badInput(field, `${field} contains the forbidden key ${JSON.stringify(key)}`);
      out[key] = sanitize(field, item, depth + 1);
    }
    return out;
  }
  throw badInput(field, `${field} must contain only JSON values`);
}

/** Deterministic JSON: object keys sorted, so equal values hash and compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = sortKeys(item);
    }
    return out;
  }
  return value;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * The JSON Canonicalization Scheme (RFC 8785) for the JSON values events
 * hold: object keys sorted by UTF-16 code units (integer-like keys
 * included, unlike a JavaScript object's own order), no whitespace, numbers
 * and strings as ECMAScript serializes them. Written directly, without
 * building sorted copies. `undefined` members are left out, as JSON.stringify
 * does.
 */
export function jcs(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : jcs(item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${jcs(item)}`;
    first = false;
  }
  return `${out}}`;
}
