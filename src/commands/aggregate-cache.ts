import type { Loaded } from './snapshots.js';

interface Entry {
  schema: string;
  loaded: Loaded<unknown>;
  weight: number;
}

/**
 * The states of recently used streams, so that a command reads only the
 * events appended since (usually none) instead of folding the stream again.
 * Least recently used first out, within a budget of approximate bytes.
 *
 * An entry is never trusted to be current: the handler always reads the
 * stream's tail after it (another process may have appended). States are
 * shared, never copied: deciders and callers must treat them as immutable.
 */
export class AggregateCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(private readonly maxWeight: number = 64 * 1024 * 1024) {}

  get<S>(stream: string, schema: string): Loaded<S> | undefined {
    const entry = this.entries.get(stream);
    if (!entry || entry.schema !== schema) return undefined;
    // Map order is insertion order: re-inserting makes it the most recently used.
    this.entries.delete(stream);
    this.entries.set(stream, entry);
    return entry.loaded as Loaded<S>;
  }

  /** Keeps `loaded` unless a state further along the same stream is already cached. */
  set(stream: string, schema: string, loaded: Loaded<unknown>, weight: number): void {
    const current = this.entries.get(stream);
    if (current && current.schema === schema && current.loaded.revision > loaded.revision) return;
    if (current) {
      this.total -= current.weight;
      this.entries.delete(stream);
    }
    if (weight > this.maxWeight / 4) return; // one giant state must not flush everything else
    this.entries.set(stream, { schema, loaded, weight });
    this.total += weight;
    for (const [key, entry] of this.entries) {
      if (this.total <= this.maxWeight) break;
      this.entries.delete(key);
      this.total -= entry.weight;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
