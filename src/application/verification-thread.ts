/**
 * Runs a verification's passes on a thread of its own (verification-worker.ts)
 * instead of the event loop's. A full verification reads, parses and hashes
 * every event of a tenant: in time slices it never held the event loop for
 * long, but its CPU and its garbage (the collector's pauses) still landed on
 * the thread that serves every other tenant's requests. On its own thread,
 * with its own read-only connections and its own heap, at a lower priority,
 * the event loop only receives its progress and result.
 *
 * Only stores another thread can open qualify: the SQLite files, KurrentDB,
 * MongoDB. In-memory stores live in this thread's heap; with them (tests,
 * TENANTRY_READ_MODELS=memory) the passes run here, in time slices.
 */
import { types } from 'node:util';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Config } from '../config/config.js';
import type { EventStore } from '../eventstore/port.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { DocumentLedgerStore } from '../ledger/document-store.js';
import { SqliteLedgerStore } from '../ledger/sqlite-store.js';
import type { LedgerStore } from '../ledger/store.js';
import type { DocumentStore } from '../readmodels/port.js';
import { SqliteDocumentStore } from '../readmodels/sqlite.js';
import type { ChainLink } from '../projections/audit/audit-entry.js';
import { workerModule, WorkerPool } from '../shared/worker-pool.js';
import type { AuditVerification } from './audit-verify.js';
import type { LedgerVerification } from './ledger-verify.js';
import type { PassCallbacks, PassInput, PassResult } from './verification-passes.js';

/**
 * Where the thread finds the stores the gateway itself uses, taken from the
 * store objects (not from the configuration alone: tests and tools build an
 * Application on stores of their own). No secrets.
 */
export interface ThreadStores {
  events: { kind: 'sqlite'; file: string; busyTimeoutMs: number } | { kind: 'kurrentdb'; url: string };
  documents: { kind: 'sqlite'; file: string } | { kind: 'mongodb'; uri: string; db: string; operationTimeoutMs: number };
  /** In its own SQLite file, or in the read models' store. */
  ledger: { kind: 'sqlite'; file: string } | { kind: 'documents' };
}

/**
 * The stores as another thread can open them, or null when it cannot: an
 * in-memory store (it lives in this thread's heap), a store wrapped in a
 * Proxy (a test counting its calls), custom upcasters, or
 * TENANTRY_VERIFICATION_THREAD=off.
 */
export function threadStoresOf(
  config: Config,
  parts: { events: EventStore; documents: DocumentStore; ledger: LedgerStore; customUpcasters: boolean },
): ThreadStores | null {
  if (config.verificationThread === 'off' || parts.customUpcasters) return null;
  // A store wrapped to observe its calls (tests count reads that way) must see the verification's reads.
  if (types.isProxy(parts.events) || types.isProxy(parts.documents)) return null;
  const events: ThreadStores['events'] | null =
    parts.events instanceof SqliteEventStore
      ? { kind: 'sqlite', file: parts.events.filePath, busyTimeoutMs: config.sqliteBusyTimeoutMs }
      : parts.events.kind === 'kurrentdb' && config.eventStore === 'kurrentdb' && config.kurrentDbUrl
        ? { kind: 'kurrentdb', url: config.kurrentDbUrl }
        : null;
  const documents: ThreadStores['documents'] | null =
    parts.documents instanceof SqliteDocumentStore
      ? { kind: 'sqlite', file: parts.documents.path }
      : parts.documents.kind === 'mongodb' && config.readModels === 'mongodb' && config.mongoUri
        ? { kind: 'mongodb', uri: config.mongoUri, db: config.mongoDb, operationTimeoutMs: config.mongoOperationTimeoutMs }
        : null;
  const ledger: ThreadStores['ledger'] | null =
    parts.ledger instanceof SqliteLedgerStore
      ? { kind: 'sqlite', file: parts.ledger.filePath }
      : parts.ledger instanceof DocumentLedgerStore && parts.ledger.documents === parts.documents
        ? { kind: 'documents' }
        : null;
  return events && documents && ledger ? { events, documents, ledger } : null;
}

/** One verification, as the thread receives it. */
export interface ThreadRequest {
  stores: ThreadStores;
  /** The physical collection of the live audit log (a rebuild may serve another generation). */
  auditLogsCollection: string;
  /** The public keys whose signed checkpoints are trusted, PEM. */
  trustedPem: string;
  /** TENANTRY_AUDIT_WITNESS_FILE, when set. */
  witnessFile: string | null;
  input: PassInput;
}

/** A task of the pool: the request, and the port its progress comes back on. */
export interface ThreadTask {
  request: ThreadRequest;
  progress: MessagePort;
}

export type WireLedger = Omit<LedgerVerification, 'frontier'> & { frontier: string[] };

/** What the thread answers. */
export interface ThreadResult {
  ledger: WireLedger;
  chain: AuditVerification | null;
}

/** Posted by the thread on the progress port. */
export type ProgressMessage =
  | { type: 'ledgerProgress'; checked: number; total: number }
  | { type: 'chainProgress'; checked: number; last: ChainLink }
  | { type: 'end' };

/** How much lower a verification thread's priority is than the event loop's (as for the parser threads). */
const NICE_INCREMENT = 10;

export class VerificationThreads {
  private readonly pool: WorkerPool<ThreadTask, ThreadResult>;
  private active = 0;
  /** Verifications given to a thread so far (tests count them). */
  started = 0;

  /** `threads`: at most this many verifications at once (the instance's slots for expensive work bound them anyway). */
  constructor(
    private readonly stores: ThreadStores,
    threads: number,
  ) {
    this.pool = new WorkerPool<ThreadTask, ThreadResult>({
      name: 'audit verification',
      module: () => workerModule(import.meta.url, 'verification-worker'),
      threads: Math.max(1, threads),
      maxQueue: Math.max(1, threads),
      // Verifications are rare: no thread is kept while none runs.
      minThreads: 0,
      idleTimeoutMs: 5_000,
      niceIncrement: NICE_INCREMENT,
    });
  }

  /** Verifications running on a thread now. */
  get running(): number {
    return this.active;
  }

  /**
   * The passes on a thread. Progress arrives as the thread posts it;
   * `onChainProgress` calls (saving a point to resume from) run one after
   * another and are all finished before this returns or throws (a run cut
   * short keeps the points saved so far). An abort of `callbacks.slicer`'s
   * signal ends the thread at once and rejects with the signal's reason.
   */
  async run(request: Omit<ThreadRequest, 'stores'>, callbacks: PassCallbacks = {}): Promise<PassResult> {
    const signal = callbacks.slicer?.signal;
    callbacks.slicer?.check();
    const { port1, port2 } = new MessageChannel();
    let saving: Promise<void> = Promise.resolve();
    const failedSave: { error: Error | null } = { error: null };
    port1.on('message', (message: ProgressMessage) => {
      if (message.type === 'end') {
        ended();
        return;
      }
      if (message.type === 'ledgerProgress') {
        callbacks.onLedgerProgress?.(message.checked, message.total);
        return;
      }
      const save = callbacks.onChainProgress;
      if (!save) return;
      saving = saving.then(async () => {
        try {
          await save(message.checked, message.last);
        } catch (error) {
          failedSave.error ??= error instanceof Error ? error : new Error('saving the point the verification reached failed');
        }
      });
    });
    // The thread's last message on this port: everything it posted before has arrived.
    let ended = (): void => undefined;
    const drained = new Promise<void>((resolve) => (ended = resolve));
    this.started++;
    this.active++;
    try {
      const result = await this.pool.run(
        { request: { ...request, stores: this.stores }, progress: port2 },
        { signal, transferList: [port2] },
      );
      // The answer comes on another port than the progress: wait for the progress's last message.
      await drained;
      await saving;
      if (failedSave.error) throw failedSave.error;
      const { ledger, chain } = result;
      return { ledger: { ...ledger, frontier: ledger.frontier.map((h) => Buffer.from(h, 'hex')) }, chain };
    } catch (error) {
      await saving;
      if (signal?.aborted) {
        const reason: unknown = signal.reason;
        throw reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
      }
      throw error;
    } finally {
      this.active--;
      port1.close();
    }
  }

  /** Ends the threads (the gateway stops). */
  async stopAll(): Promise<void> {
    await this.pool.destroy();
  }
}
