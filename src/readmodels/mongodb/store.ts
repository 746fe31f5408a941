/**
 * The MongoDB DocumentStore: connects (checking the server, its credentials
 * and its transactions), hands out collection handles, runs transactions,
 * renames and lists collections, and answers pings.
 */
import { MongoClient, MongoServerError, type Db, type MongoClientOptions } from 'mongodb';
import {
  DocumentStoreRefusedError,
  DocumentStoreUnavailableError,
  type AdmissionStats,
  type Collection,
  type Document,
  type DocumentStore,
} from '../port.js';
import { Admission } from '../admission.js';
import { MongoCollection, type Raw } from './collection.js';
import { AUTHENTICATION_FAILED, NAMESPACE_NOT_FOUND, NOT_IMPLEMENTED, mapError } from './errors.js';
import { MongoHealth } from './health.js';
import { detectTransactionSupport, hello, type MongoServerInfo, type TransactionSupport } from './server.js';
import { MongoTransactionsUnsupportedError, TransactionScopes, type TransactionMode, type TransactionScope } from './transactions.js';

/** The driver's own default pool size, kept unless admission needs more. */
const DEFAULT_POOL_SIZE = 100;
const DEFAULT_MAX_IN_FLIGHT = 16;
const DEFAULT_MAX_QUEUED_READS = 256;
/** Connections beyond the admitted operations: the breaker's pings, readiness pings, streaming cursors. */
const POOL_HEADROOM = 16;

export interface MongoDocumentStoreOptions {
  /** How long an operation waits for a reachable server. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  /**
   * How long an operation may wait for the server's answer on an open
   * connection. Default 60000 ms: without a bound, an operation sent on a
   * connection the network silently dropped (no reset reaches the client)
   * waits forever, and so does the projection that awaits it.
   */
  socketTimeoutMS?: number;
  maxPoolSize?: number;
  /**
   * The longest the adapter waits for one data operation (find, write, bulk
   * write), whatever the driver is waiting for inside it. Default 30000 ms.
   * Past it the operation counts as an outage (DocumentStoreUnavailableError,
   * fail fast until a ping answers), so a caller never awaits a store forever.
   * The abandoned operation may still complete: projection writes are guarded
   * by positions, leases and checkpoints by compare-and-set.
   */
  operationTimeoutMS?: number;
  /**
   * Data operations sent to the server at once (admission control,
   * src/readmodels/admission.ts); the rest wait in the adapter's queues, not
   * in the driver's. Default 16. The driver's pool is made at least this
   * size plus room for pings and cursors.
   */
  maxInFlight?: number;
  /** Request reads that may wait for a slot; one more is refused as overloaded. Default 256. */
  maxQueuedReads?: number;
  appName?: string;
  /** Extra driver options, applied last. */
  clientOptions?: MongoClientOptions;
  /**
   * Multi-document transactions (TENANTRY_MONGODB_TRANSACTIONS): `auto`
   * (default) where the server offers them, `on` to refuse a server without
   * them (connect throws MongoTransactionsUnsupportedError), `off` never.
   */
  transactions?: TransactionMode;
}

export class MongoDocumentStore implements DocumentStore {
  readonly kind = 'mongodb' as const;
  /** Set once the server has refused `renameCollection` with `dropTarget` (FerretDB). */
  private dropTargetUnsupported = false;
  /** Whether withTransaction runs its function in a real transaction (the server offers them, and they are not turned off). */
  readonly transactions: boolean;
  /** The transaction attempt the current async context runs in, if any. Per store: a session belongs to one client. */
  private readonly scopes = new TransactionScopes();
  /** The operation timeout and the circuit breaker. */
  private readonly health: MongoHealth;

  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
    readonly serverInfo: MongoServerInfo,
    readonly transactionMode: TransactionMode,
    readonly operationTimeoutMS: number,
    readonly admission: Admission,
  ) {
    this.transactions = transactionMode !== 'off' && serverInfo.transactionSupport.supported;
    this.health = new MongoHealth(db, operationTimeoutMS);
  }

  /**
   * Connects and verifies that the server answers. Throws
   * DocumentStoreUnavailableError when no server is reachable within
   * `serverSelectionTimeoutMS` (default 5 s).
   */
  static async connect(uri: string, dbName: string, options: MongoDocumentStoreOptions = {}): Promise<MongoDocumentStore> {
    if (!uri) throw new Error('MongoDB URI is required');
    if (!dbName) throw new Error('MongoDB database name is required');
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const clientOptions: MongoClientOptions = {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      ignoreUndefined: true,
      ...(options.connectTimeoutMS !== undefined ? { connectTimeoutMS: options.connectTimeoutMS } : {}),
      socketTimeoutMS: options.socketTimeoutMS ?? 60_000,
      // Admission control keeps at most maxInFlight data operations on the wire; the rest of the pool is for pings and cursors.
      maxPoolSize: Math.max(options.maxPoolSize ?? DEFAULT_POOL_SIZE, maxInFlight + POOL_HEADROOM),
      appName: options.appName ?? 'tenantry',
      ...options.clientOptions,
    };
    const client = new MongoClient(uri, clientOptions);
    const admission = new Admission({ maxInFlight, maxQueuedReads: options.maxQueuedReads ?? DEFAULT_MAX_QUEUED_READS });
    try {
      await client.connect();
      const db = client.db(dbName);
      const info = await db.admin().command({ buildInfo: 1 });
      const ferretdbVersion = typeof info['ferretdbVersion'] === 'string' ? info['ferretdbVersion'] : undefined;
      const mode = options.transactions ?? 'auto';
      const transactionSupport: TransactionSupport =
        mode === 'off' ? { supported: false, reason: 'not asked for' } : detectTransactionSupport(await hello(db), ferretdbVersion);
      if (mode === 'on' && !transactionSupport.supported) throw new MongoTransactionsUnsupportedError(transactionSupport.reason);
      const serverInfo: MongoServerInfo = { version: String(info['version'] ?? 'unknown'), transactionSupport };
      if (ferretdbVersion !== undefined) serverInfo.ferretdbVersion = ferretdbVersion;
      return new MongoDocumentStore(client, db, serverInfo, mode, options.operationTimeoutMS ?? 30_000, admission);
    } catch (err) {
      await client.close().catch(() => undefined);
      if (err instanceof MongoServerError && err.code === AUTHENTICATION_FAILED) {
        throw new DocumentStoreRefusedError(`MongoDB refused the credentials in its URI: ${err.message}`, { cause: err });
      }
      throw mapError(err, '');
    }
  }

  /** See MongoHealth.bounded. */
  async bounded<R>(operation: Promise<R>): Promise<R> {
    return this.health.bounded(operation);
  }

  /** The open transaction attempt of the calling async context, if any. */
  activeScope(): TransactionScope | undefined {
    return this.scopes.active();
  }

  /**
   * Runs `fn` in one multi-document transaction (snapshot reads, majority
   * commit) when `transactions` is true; otherwise just runs it. Every
   * collection operation `fn` makes joins the transaction by itself. The
   * driver runs `fn` again on a TransientTransactionError (a write conflict,
   * a failover) and retries an unknown commit result, for up to 120 s; any
   * other error aborts and is thrown, mapped like every error of this
   * adapter. A call inside an open transaction joins it.
   *
   * NOT VERIFIED HERE: no replica set exists on the development machine; see
   * ./transactions.ts.
   */
  async withTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.transactions || this.activeScope()) return fn();
    this.failFast();
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() => this.scopes.attempt(session, fn), {
        readConcern: { level: 'snapshot' },
        writeConcern: { w: 'majority' },
      });
    } catch (err) {
      const mapped = mapError(err, '');
      if (mapped instanceof DocumentStoreUnavailableError) this.outage(mapped);
      throw mapped;
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  get isFerretDB(): boolean {
    return this.serverInfo.ferretdbVersion !== undefined;
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    return new MongoCollection<T>(this, this.db.collection<Raw>(name));
  }

  async listCollections(): Promise<string[]> {
    try {
      const infos = await this.db.listCollections({}, { nameOnly: true }).toArray();
      return infos.map((i) => i.name).filter((n) => !n.startsWith('system.'));
    } catch (err) {
      throw mapError(err, '');
    }
  }

  /**
   * Renames `from` to `to`, replacing `to`. On MongoDB this is one atomic
   * `renameCollection` with `dropTarget: true`.
   *
   * FerretDB 1.x does not implement `dropTarget` (NotImplemented, code 238).
   * There the rename is emulated as "drop `to`, then rename": NOT atomic —
   * between the two steps readers see no `to` collection, and a crash in
   * between leaves `to` missing (the data is still in `from`, so repeating the
   * rename completes it). The source is checked first, so a missing `from`
   * never costs the target.
   */
  async renameCollection(from: string, to: string): Promise<void> {
    try {
      if (!this.dropTargetUnsupported) {
        try {
          await this.db.renameCollection(from, to, { dropTarget: true });
          return;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === NOT_IMPLEMENTED)) throw err;
          this.dropTargetUnsupported = true;
        }
      }
      const exists = await this.db.listCollections({ name: from }, { nameOnly: true }).toArray();
      if (exists.length === 0) throw new Error(`cannot rename collection ${from}: it does not exist`);
      if (from === to) throw new Error(`cannot rename collection ${from} to itself`);
      await this.db.dropCollection(to).catch((err: unknown) => {
        if (!(err instanceof MongoServerError && err.code === NAMESPACE_NOT_FOUND)) throw err;
      });
      await this.db.renameCollection(from, to);
    } catch (err) {
      throw mapError(err, from);
    }
  }

  admissionStats(): AdmissionStats {
    return this.admission.stats();
  }

  async ping(): Promise<void> {
    try {
      await this.db.command({ ping: 1 });
      this.health.markUp();
    } catch (err) {
      throw mapError(err, '');
    }
  }

  /** See MongoHealth.outage. */
  outage(error: DocumentStoreUnavailableError): void {
    this.health.outage(error);
  }

  /** See MongoHealth.failFast. */
  failFast(): void {
    this.health.failFast();
  }

  /** See MongoHealth.markDown. */
  markDown(): void {
    this.health.markDown();
  }

  async close(): Promise<void> {
    this.health.markUp();
    await this.client.close();
  }

  /** Drops the whole database (tests and tenant-less teardown only). */
  async dropDatabase(): Promise<void> {
    try {
      await this.db.dropDatabase();
    } catch (err) {
      throw mapError(err, '');
    }
  }
}
