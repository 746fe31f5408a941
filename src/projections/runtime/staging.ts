/**
 * Staged rebuilds: a blue/green rebuild that applies the log to an in-memory
 * copy of the new generation and writes it to the real store in flushes.
 *
 * Why: a rebuild writes documents that nobody reads yet, and many events
 * rewrite the same document (a namespace created then updated four times).
 * Applied one batch at a time, every event costs MongoDB round trips, and
 * servers without native bulk updates (FerretDB) run each replace alone.
 * Staged, a document is written once per flush however many events touched
 * it, and new documents go as bulk inserts.
 *
 * How it stays resumable: a flush writes the documents that changed since
 * the previous flush (inserts, replaces, deletes), then the checkpoint. A
 * crash between the two leaves documents ahead of their checkpoint, exactly
 * what a crash between a batch and its checkpoint leaves in an ordinary
 * rebuild, and the projections' position guards make the re-applied events
 * harmless. A restarted staged rebuild first loads what the generation holds.
 *
 * The price: the generation's documents are held in memory during the
 * rebuild (docs/operations.md, "Staged rebuilds", says how much). Opt-in.
 */
import { MemoryDocumentStore } from '../../readmodels/memory.js';
import type { Document, DocumentStore, WriteOperation } from '../../readmodels/port.js';
import { CHECKPOINTS } from './runner.js';

/** Operations per bulk write sent to the real store. */
const CHUNK = 1000;

export interface FlushStats {
  inserted: number;
  replaced: number;
  deleted: number;
}

export class StagedGeneration {
  readonly memory = new MemoryDocumentStore();
  /** What the real store holds, as of the last load or flush: references into `memory`'s documents. */
  private readonly flushed = new Map<string, Map<string, Document>>();

  constructor(
    private readonly real: DocumentStore,
    /** Physical names of the generation's collections. */
    private readonly collections: readonly string[],
    private readonly checkpointId: string,
  ) {}

  /** Copies what the generation already holds (a resumed rebuild) and its checkpoint into memory. */
  async load(): Promise<number> {
    let loaded = 0;
    for (const name of this.collections) {
      const into = this.memory.collection(name);
      let chunk: WriteOperation<Document>[] = [];
      for await (const document of this.real.collection(name).stream({})) {
        chunk.push({ insertOne: { document } });
        if (chunk.length >= CHUNK) {
          await into.bulkWrite(chunk);
          loaded += chunk.length;
          chunk = [];
        }
      }
      if (chunk.length > 0) await into.bulkWrite(chunk);
      loaded += chunk.length;
    }
    const checkpoint = await this.real.collection(CHECKPOINTS).findOne({ _id: this.checkpointId });
    if (checkpoint) await this.memory.collection(CHECKPOINTS).insertOne(checkpoint);
    for (const name of await this.memory.listCollections()) this.flushed.set(name, this.memory.snapshot(name));
    return loaded;
  }

  /**
   * Writes what changed in memory since the last flush to the real store:
   * the generation's documents first, then the checkpoint (and any other
   * document the runner wrote, such as parked events).
   */
  async flush(): Promise<FlushStats> {
    const stats: FlushStats = { inserted: 0, replaced: 0, deleted: 0 };
    const names = await this.memory.listCollections();
    const ordered = [...names.filter((n) => n !== CHECKPOINTS), ...names.filter((n) => n === CHECKPOINTS)];
    for (const name of ordered) {
      const current = this.memory.snapshot(name);
      const before = this.flushed.get(name) ?? new Map<string, Document>();
      const inserts: WriteOperation<Document>[] = [];
      const others: WriteOperation<Document>[] = [];
      for (const [key, document] of current) {
        const previous = before.get(key);
        if (previous === undefined) inserts.push({ insertOne: { document } });
        else if (previous !== document) others.push({ replaceOne: { filter: { _id: document._id }, replacement: document, upsert: true } });
      }
      for (const [key, document] of before) {
        if (!current.has(key)) others.push({ deleteOne: { filter: { _id: document._id } } });
      }
      const target = this.real.collection(name);
      // Inserts alone in their bulk writes: every server sends those as one batch.
      for (let i = 0; i < inserts.length; i += CHUNK) {
        const chunk = inserts.slice(i, i + CHUNK);
        const result = await target.bulkWrite(chunk, { ordered: false });
        stats.inserted += result.insertedCount;
        // Present already (written by a flush whose checkpoint did not follow, then not reloaded): replace.
        const retry = result.duplicateKeyErrors.map((index) => {
          const document = (chunk[index] as { insertOne: { document: Document } }).insertOne.document;
          return { replaceOne: { filter: { _id: document._id }, replacement: document, upsert: true } };
        });
        if (retry.length > 0) others.push(...retry);
      }
      for (let i = 0; i < others.length; i += CHUNK) {
        const chunk = others.slice(i, i + CHUNK);
        const result = await target.bulkWrite(chunk, { ordered: true });
        if (result.duplicateKeyErrors.length > 0) {
          throw new Error(`staged flush of ${name}: a unique index refused a document written by the rebuild`);
        }
        stats.replaced += result.matchedCount + result.upsertedCount;
        stats.deleted += result.deletedCount;
      }
      this.flushed.set(name, current);
    }
    return stats;
  }
}
