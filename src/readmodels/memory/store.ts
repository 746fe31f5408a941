/** The embedded DocumentStore: collections of documents in process memory. */
import type { Collection, Document, DocumentStore, Filter, Sort } from '../port.js';
import { MemoryCollection } from './collection.js';
import { describePlan, type QueryPlanDescription } from './execute.js';
import { compileFilter } from './filters.js';
import type { WorkStats } from './planner.js';
import { CollectionState } from './state.js';
import { Slicer } from '../../shared/slices.js';

/** How often written documents are indexed in the background, once warming started. */
const WARM_INTERVAL_MS = 250;

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

  /**
   * Work done by queries (and by the filters of updates and deletes) since
   * the last `resetStats`: documents fetched and tested, index keys visited;
   * of one collection, or of all. For tests that prove a query's cost is
   * bounded (not part of the port).
   */
  stats(collection?: string): WorkStats {
    const states = collection === undefined ? [...this.collections.values()] : [this.collections.get(collection)];
    const total: WorkStats = { docsExamined: 0, keysExamined: 0 };
    for (const state of states) {
      if (!state) continue;
      total.docsExamined += state.stats.docsExamined;
      total.keysExamined += state.stats.keysExamined;
    }
    return total;
  }

  resetStats(): void {
    for (const state of this.collections.values()) {
      state.stats.docsExamined = 0;
      state.stats.keysExamined = 0;
    }
  }

  /** How a query on `collection` would be answered (which index, in what order), without running it. */
  explain(collection: string, filter: Filter, sort?: Sort): QueryPlanDescription {
    compileFilter(filter);
    const state = this.collections.get(collection);
    return state ? describePlan(state, filter, sort) : { plan: 'scan' };
  }

  /** Documents of a collection whose index entries are still to be brought up to date (tests). */
  pendingIndexUpdates(collection: string): number {
    return this.collections.get(collection)?.pendingIndexUpdates ?? 0;
  }

  private warming: Promise<void> | null = null;
  private warmTimer: NodeJS.Timeout | null = null;

  /**
   * Brings every collection's ordered indexes up to date in time slices, and
   * from then on keeps doing so in the background every quarter second: a
   * collection that is written much and read little (the audit log) would
   * otherwise pile up work for whichever query reads it next. Called once the
   * start-up rebuild is done (whose bulk load is indexed faster all at once).
   */
  async warm(): Promise<void> {
    this.warmTimer ??= setInterval(() => void this.warmPass(), WARM_INTERVAL_MS);
    this.warmTimer.unref();
    await this.warmPass();
  }

  private warmPass(): Promise<void> {
    if (this.warming) return this.warming;
    const pass = async (): Promise<void> => {
      const slicer = new Slicer();
      for (const state of [...this.collections.values()]) if (state.pendingIndexUpdates > 0) await state.warm(() => slicer.tick());
    };
    // Cleared when the pass ends (also when it had nothing to do and ended at once).
    const running = pass().finally(() => {
      if (this.warming === running) this.warming = null;
    });
    this.warming = running;
    return running;
  }

  async renameCollection(from: string, to: string): Promise<void> {
    if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
    const state = this.collections.get(from);
    if (!state) throw new Error(`cannot rename collection ${from}: it does not exist`);
    this.collections.delete(from);
    this.collections.set(to, state);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    if (this.warmTimer) clearInterval(this.warmTimer);
    this.warmTimer = null;
  }
}
