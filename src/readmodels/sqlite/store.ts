/** The durable embedded DocumentStore: collections in one SQLite file. */
import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { DocumentStoreUnavailableError, type Collection, type Document, type DocumentStore } from '../port.js';
import { Catalog, SCHEMA } from './catalog.js';
import { DocumentCache } from './document-cache.js';
import { SqliteCollection, type SqliteHost } from './collection.js';
import { Statements } from './table.js';
import { privateSqliteFile } from '../../shared/private-files.js';
import { Slicer } from '../../shared/slices.js';
import { checkpointInBackground, type BackgroundCheckpoints } from '../../shared/wal-checkpointer.js';

export interface SqliteDocumentStoreOptions {
  /** How long a write waits for another process's transaction on the file. Default 10 s. */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL on a thread of its own (src/shared/wal-checkpointer.ts), not inside the commits. For the gateway. */
  backgroundCheckpoints?: boolean;
  /**
   * Heap bytes for parsed documents reads share (./document-cache.ts).
   * Default 64 MiB; 0 keeps none.
   */
  documentCacheBytes?: number;
  /**
   * Reads only, on connections of its own (the file must exist): no schema,
   * no checkpoints; writes fail. For a verification thread beside the
   * gateway's own store.
   */
  readOnly?: boolean;
}

/** Parsed documents kept for reads: 64 MiB of heap, some 60,000 flows of a few hundred bytes. */
export const DEFAULT_DOCUMENT_CACHE_BYTES = 64 * 2 ** 20;

/** Page cache of each connection, in KiB (SQLite's default is 2 MiB). */
const WRITER_CACHE_KIB = 64 * 1024;
const READER_CACHE_KIB = 32 * 1024;
/** A stream's own connection reads its documents once, in order: a small cache is enough. */
const STREAM_CACHE_KIB = 2 * 1024;

/** One connection with its catalog and statements. */
class Connection {
  readonly statements: Statements;
  readonly catalog: Catalog;

  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;

  constructor(readonly db: Database.Database) {
    this.statements = new Statements(db);
    this.catalog = new Catalog(db);
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
  }

  /**
   * Runs `fn` in one read transaction with the catalog brought up to date
   * first: the catalog check and the read see one snapshot (a catalog change
   * committed between them could otherwise send the read to a table the
   * check did not see), and SQLite starts one read transaction instead of two
   * (one per statement outside a transaction).
   */
  snapshot<R>(fn: (statements: Statements, catalog: Catalog) => R): R {
    this.begin.run();
    try {
      this.fresh();
      return fn(this.statements, this.catalog);
    } finally {
      this.commit.run();
    }
  }

  /** Brings the cached catalog up to date with other connections' changes. */
  fresh(): this {
    if (this.catalog.refresh()) this.statements.clear();
    return this;
  }
}

export class SqliteDocumentStore implements DocumentStore, SqliteHost {
  readonly kind = 'sqlite' as const;
  readonly transactions = true;
  private readonly writer: Connection;
  /** Reads outside a transaction: they never see another context's uncommitted writes. */
  private readonly reader: Connection;
  private readonly scope = new AsyncLocalStorage<true>();
  /** The open transaction of some async context, if any: other contexts' writes wait for it. */
  private open: Promise<void> | null = null;
  private closed = false;
  private readonly busyTimeoutMs: number;
  /** The connections of the streams open now (each has its own): closed with the store. */
  private readonly streamReaders = new Set<Database.Database>();
  /**
   * better-sqlite3 is synchronous: a loop of store calls (a catch-up, a
   * rebuild) would never let the event loop run (signals, timers, requests).
   * Every call first gives it a turn once a slice of work is spent.
   */
  private readonly slicer = new Slicer();
  private readonly checkpoints: BackgroundCheckpoints | null;
  readonly cache: DocumentCache;

  private constructor(
    readonly path: string,
    options: SqliteDocumentStoreOptions,
  ) {
    // Files of the data dir are the gateway's own user's only (0600; docs/security.md, "Housekeeping").
    const busy = options.busyTimeoutMs ?? 10_000;
    this.busyTimeoutMs = busy;
    this.cache = new DocumentCache(options.documentCacheBytes ?? DEFAULT_DOCUMENT_CACHE_BYTES);
    if (options.readOnly) {
      const db = new Database(path, { timeout: busy, readonly: true, fileMustExist: true });
      db.pragma(`cache_size = -${READER_CACHE_KIB}`);
      this.checkpoints = null;
      this.writer = this.reader = new Connection(db);
      return;
    }
    privateSqliteFile(path);
    const writer = new Database(path, { timeout: busy });
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = NORMAL');
    // Index tables are many small B-trees written together (the audit log has eight): keep their pages cached.
    writer.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    writer.exec('BEGIN IMMEDIATE');
    try {
      writer.exec(SCHEMA);
      writer.exec('COMMIT');
    } catch (err) {
      writer.exec('ROLLBACK');
      throw err;
    }
    this.checkpoints = options.backgroundCheckpoints ? checkpointInBackground(writer, path) : null;
    const reader = new Database(path, { timeout: busy });
    reader.pragma('query_only = ON');
    reader.pragma(`cache_size = -${READER_CACHE_KIB}`);
    this.writer = new Connection(writer);
    this.reader = new Connection(reader);
  }

  /** Opens (creating if needed) the store in the file at `path`. */
  static open(path: string, options: SqliteDocumentStoreOptions = {}): SqliteDocumentStore {
    return new SqliteDocumentStore(path, options);
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    if (typeof name !== 'string' || name.length === 0) throw new Error('collection name must be a non-empty string');
    return new SqliteCollection<T>(this, name);
  }

  inScope(): boolean {
    return this.scope.getStore() === true;
  }

  private check(): void {
    if (this.closed) throw new DocumentStoreUnavailableError('the SQLite read-model store is closed');
  }

  pace(): Promise<void> {
    return this.slicer.tick();
  }

  read<R>(fn: (statements: Statements, catalog: Catalog) => R): R {
    this.check();
    if (this.inScope()) {
      const connection = this.writer.fresh();
      return fn(connection.statements, connection.catalog);
    }
    return this.reader.snapshot(fn);
  }

  /**
   * Runs `fn` on a read connection of its own, for a stream; `close` ends it.
   * A statement left open on the shared reader (an export whose client reads
   * slowly, a long verification) holds that connection's read transaction:
   * every other read, of every tenant, saw the snapshot the stream started
   * from until it ended (a deleted binding still granted, a new namespace
   * missing).
   */
  streamRead<R>(fn: (statements: Statements, catalog: Catalog) => R): { result: R; close: () => void } {
    this.check();
    const db = new Database(this.path, { timeout: this.busyTimeoutMs });
    db.pragma('query_only = ON');
    db.pragma(`cache_size = -${STREAM_CACHE_KIB}`);
    this.streamReaders.add(db);
    const connection = new Connection(db).fresh();
    const close = (): void => {
      if (!this.streamReaders.delete(db)) return;
      connection.statements.endAll();
      db.close();
    };
    try {
      return { result: fn(connection.statements, connection.catalog), close };
    } catch (err) {
      close();
      throw err;
    }
  }

  async write<R>(fn: (statements: Statements, catalog: Catalog) => R): Promise<R> {
    await this.slicer.tick();
    this.check();
    if (!this.inScope()) while (this.open) await this.open;
    this.check();
    const connection = this.writer;
    const run = connection.db.transaction(() => fn(connection.fresh().statements, connection.catalog));
    try {
      return this.inScope() ? run() : run.immediate();
    } catch (err) {
      // A rolled back write may have changed the cached catalog: read it again.
      connection.catalog.invalidate();
      connection.statements.clear();
      throw err;
    }
  }

  /**
   * Runs `fn` in one SQLite transaction: its writes (in its async context)
   * commit together or not at all. Writes from other contexts wait until it
   * ends; reads from other contexts see only committed data.
   */
  async withTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inScope()) return fn();
    this.check();
    while (this.open) await this.open;
    let done!: () => void;
    this.open = new Promise<void>((resolve) => (done = resolve));
    try {
      this.writer.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.scope.run(true, fn);
        this.writer.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.writer.db.inTransaction) this.writer.db.exec('ROLLBACK');
        this.writer.catalog.invalidate();
        this.writer.statements.clear();
        throw err;
      }
    } finally {
      this.open = null;
      done();
    }
  }

  async listCollections(): Promise<string[]> {
    return this.read((_s, catalog) => catalog.names());
  }

  async renameCollection(from: string, to: string): Promise<void> {
    if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
    await this.write((_s, catalog) => {
      if (!catalog.get(from)) throw new Error(`cannot rename collection ${from}: it does not exist`);
      catalog.rename(from, to);
    });
  }

  async ping(): Promise<void> {
    this.check();
    this.reader.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.open) await this.open;
    this.closed = true;
    for (const db of [...this.streamReaders]) db.close();
    this.streamReaders.clear();
    this.reader.statements.endAll();
    this.writer.statements.endAll();
    await this.checkpoints?.release();
    this.reader.db.close();
    this.writer.db.close();
  }
}
