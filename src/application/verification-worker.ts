/**
 * The verification thread: runs a verification's two passes
 * (verification-passes.ts) on connections of its own to the stores, opened
 * read-only where the store allows, so that the hashing, the parsing of every
 * event and the garbage they leave stay off the event loop's thread and heap.
 * A task of the verification pool (piscina, at a lower priority); it posts
 * progress on the task's port and answers its result, and the pool ends the
 * thread when the request's deadline passes.
 */
import type { EventStore } from '../eventstore/port.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { upcasters } from '../events/upcasting.js';
import { TrustedKeys } from '../ledger/checkpoint.js';
import { DocumentLedgerStore } from '../ledger/document-store.js';
import type { LedgerStore } from '../ledger/store.js';
import type { AuditEntryDocument } from '../projections/audit/audit-entry.js';
import type { DocumentStore } from '../readmodels/port.js';
import { tenantScoped } from '../readmodels/tenant-scoped.js';
import { Slicer } from '../shared/slices.js';
import { runVerificationPasses } from './verification-passes.js';
import type { ProgressMessage, ThreadResult, ThreadStores, ThreadTask } from './verification-thread.js';

/**
 * The store adapters are loaded when a verification needs them (a thread on
 * SQLite files never loads the MongoDB driver or the KurrentDB client): the
 * compiled `.js` module with import(); when the sources run under tsx (tests,
 * benchmarks), through tsx's own tsImport, because a dynamic import() of a
 * `.ts` file on a worker thread does not reach tsx's loader there.
 */
const TSX_API = 'tsx/esm/api';
async function load<T>(relative: string): Promise<T> {
  if (path.extname(fileURLToPath(import.meta.url)) !== '.ts') return (await import(new URL(`${relative}.js`, import.meta.url).href)) as T;
  const { tsImport } = (await import(TSX_API)) as { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  return (await tsImport(`${relative}.ts`, import.meta.url)) as T;
}

/** Nothing else runs on this thread: no need to give a turn after every millisecond. */
const THREAD_SLICE_MS = 1_000;

async function openStores(stores: ThreadStores): Promise<{ events: EventStore; documents: DocumentStore; ledger: LedgerStore }> {
  const opened: { close(): Promise<void> }[] = [];
  try {
    let events: EventStore;
    if (stores.events.kind === 'sqlite') {
      const { SqliteEventStore } = await load<typeof import('../eventstore/sqlite.js')>('../eventstore/sqlite');
      events = new SqliteEventStore(stores.events.file, { readOnly: true, busyTimeoutMs: stores.events.busyTimeoutMs });
    } else {
      const { KurrentDbEventStore } = await load<typeof import('../eventstore/kurrentdb.js')>('../eventstore/kurrentdb');
      events = new KurrentDbEventStore(stores.events.url);
    }
    opened.push(events);
    let documents: DocumentStore;
    if (stores.documents.kind === 'sqlite') {
      const { SqliteDocumentStore } = await load<typeof import('../readmodels/sqlite.js')>('../readmodels/sqlite');
      documents = SqliteDocumentStore.open(stores.documents.file, { readOnly: true });
    } else {
      const { MongoDocumentStore } = await load<typeof import('../readmodels/mongodb.js')>('../readmodels/mongodb');
      documents = await MongoDocumentStore.connect(stores.documents.uri, stores.documents.db, {
        transactions: 'off',
        operationTimeoutMS: stores.documents.operationTimeoutMs,
        maxInFlight: 4,
        appName: 'tenantry-verification',
      });
    }
    opened.push(documents);
    let ledger: LedgerStore;
    if (stores.ledger.kind === 'sqlite') {
      const { SqliteLedgerStore } = await load<typeof import('../ledger/sqlite-store.js')>('../ledger/sqlite-store');
      ledger = new SqliteLedgerStore(stores.ledger.file, { readOnly: true });
      opened.push(ledger);
    } else {
      ledger = new DocumentLedgerStore(documents, { readOnly: true });
    }
    return { events, documents, ledger };
  } catch (error) {
    for (const store of opened.reverse()) await store.close().catch(() => undefined);
    throw error;
  }
}

/** One verification: the passes on this thread's own connections, progress on the task's port. */
export default async function verify(task: ThreadTask): Promise<ThreadResult> {
  const { request, progress } = task;
  const post = (message: ProgressMessage): void => progress.postMessage(message);
  const { events, documents, ledger } = await openStores(request.stores);
  try {
    const entries = tenantScoped(documents.collection<AuditEntryDocument>(request.auditLogsCollection), request.input.tenantId);
    // Buffers arrive as plain Uint8Arrays (structured clone): the frontier's hashes become Buffers again.
    const { ledgerFrom } = request.input;
    const input = ledgerFrom
      ? { ...request.input, ledgerFrom: { ...ledgerFrom, frontier: ledgerFrom.frontier.map((h) => Buffer.from(h)) } }
      : request.input;
    const result = await runVerificationPasses(
      { events, ledger, trusted: TrustedKeys.fromPemBundle(request.trustedPem), upcasters, entries, witnessFile: request.witnessFile },
      input,
      {
        slicer: new Slicer(undefined, THREAD_SLICE_MS),
        onLedgerProgress: (checked, total) => post({ type: 'ledgerProgress', checked, total }),
        onChainProgress: (checked, last) => post({ type: 'chainProgress', checked, last }),
      },
    );
    return { ledger: { ...result.ledger, frontier: result.ledger.frontier.map((h) => h.toString('hex')) }, chain: result.chain };
  } finally {
    post({ type: 'end' });
    progress.close();
    await Promise.all([events.close(), ledger.close(), documents.close()].map((p) => p.catch(() => undefined)));
  }
}
