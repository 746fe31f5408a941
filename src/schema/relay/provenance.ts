import type { EntityVersion } from './global-id.js';

type Source = Record<string, unknown>;

/** What an object of the v1 resolvers does not say about itself but its v2 id needs. */
export interface Provenance {
  /** Read at a revision or asOf (a historical version). */
  version?: EntityVersion;
  /** The entity that holds it (a flow revision's flow). */
  owner?: Source;
}

const known = new WeakMap<object, Provenance>();

/** Records where `value` comes from; returns it. */
export function remember<T>(value: T, provenance: Provenance): T {
  if (typeof value === 'object' && value !== null) known.set(value, { ...known.get(value), ...provenance });
  return value;
}

export function provenanceOf(value: unknown): Provenance | undefined {
  return typeof value === 'object' && value !== null ? known.get(value) : undefined;
}

/**
 * A copy of a historical read, marked with its version: the v1 resolvers may
 * hand the same cached object to a current read of the same request, whose
 * id must stay the current one.
 */
export function asVersion<T>(value: T, version: EntityVersion): T {
  if (typeof value !== 'object' || value === null) return value;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as object, value) as T;
  return remember(copy, { version });
}
