/** The embedded DocumentStore: collections of documents in process memory. */
import type { Collection, Document, DocumentStore } from '../port.js';
import { MemoryCollection } from './collection.js';
import { CollectionState } from './state.js';

export class MemoryDocumentStore implements DocumentStore {
  readonly kind = 'memory' as const;
  private readonly collections = new Map<string, CollectionState>();

  collection<T extends Document = Document>(name: string): Collection<T> {
    if (typeof name !== 'string' || name.length === 0) throw new Error('collection name must be a non-empty string');
    return new MemoryCollection<T>(this, name);
  }

  /** @internal used by collection handles */
  state(name: string, create = false): CollectionState | undefined {
    let state = this.collections.get(name);
    if (!state && create) {
      state = new CollectionState();
      this.collections.set(name, state);
    }
    return state;
  }

  /** @internal */
  dropState(name: string): void {
    this.collections.delete(name);
  }

  async listCollections(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  /**
   * @internal The stored documents of a collection by `_id` key, as
   * references (never mutate them). A write replaces a document's reference,
   * so comparing two snapshots by reference finds what changed between them
   * (used by staged rebuilds, see projections/runtime/staging.ts).
   */
  snapshot(name: string): Map<string, Document> {
    return new Map(this.collections.get(name)?.docs as Map<string, Document> | undefined);
  }

  async renameCollection(from: string, to: string): Promise<void> {
    if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
    const state = this.collections.get(from);
    if (!state) throw new Error(`cannot rename collection ${from}: it does not exist`);
    this.collections.delete(from);
    this.collections.set(to, state);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
