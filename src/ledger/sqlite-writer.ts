/**
 * The ledger's appends to `ledger.sqlite`, on a thread of their own.
 *
 * Every batch of events the ledger projection hashes ends in one append per
 * tenant: a transaction that must be durable (`synchronous = FULL`: the
 * ledger is what an edit of the log is checked against, and its position
 * must never fall behind the projection checkpoint that says it was
 * written). On the event loop that commit and its fsync held every tenant's
 * requests for 3–4 ms per batch (7% of the event loop while a tenant saved
 * 200 KB flow sources, bench/README.md); the thread owns a second connection
 * to the file and commits there, and the event loop only waits for the
 * answer. Signed checkpoints are stored by the thread too (a write on the
 * main connection would wait there for the thread's lock); reads stay on
 * the main connection (WAL: readers never wait for the writer).
 *
 * If the thread dies, the appends it had are rejected (the projection
 * retries the batch; an append whose head moved meanwhile answers `false`
 * and is recomputed from the new head) and the next append starts a new
 * thread.
 */
import { SqliteWriter, threadError, type ThreadFailure } from '../shared/sqlite-thread.js';
import type { SignedCheckpoint } from './checkpoint.js';
import type { LedgerHead, LedgerLeaf, LedgerNode } from './store.js';

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = ' + workerData.walAutocheckpoint);
const headOf = db.prepare('SELECT position FROM heads WHERE tenant = ?');
const insertLeaf = db.prepare('INSERT OR IGNORE INTO leaves (tenant, idx, position, hash) VALUES (?, ?, ?, ?)');
const insertNode = db.prepare('INSERT OR IGNORE INTO nodes (tenant, level, idx, hash) VALUES (?, ?, ?, ?)');
const upsertHead = db.prepare(
  'INSERT INTO heads (tenant, size, position, frontier) VALUES (?, ?, ?, ?) ' +
    'ON CONFLICT (tenant) DO UPDATE SET size = excluded.size, position = excluded.position, frontier = excluded.frontier',
);
// Hashes arrive as Uint8Arrays (a Buffer's structured clone).
const bytes = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

// Guarded by the head's position: another writer (a CLI beside the gateway) moved it, nothing is written.
const append = db.transaction((m) => {
  const current = headOf.get(m.tenant);
  if ((current ? current.position : 0) !== m.from) return false;
  for (const leaf of m.leaves) insertLeaf.run(m.tenant, leaf.index, leaf.position, bytes(leaf.hash));
  for (const node of m.nodes) insertNode.run(m.tenant, node.level, node.index, bytes(node.hash));
  upsertHead.run(m.tenant, m.size, m.position, bytes(m.frontier));
  return true;
});

const insertCheckpoint = db.prepare(
  'INSERT OR IGNORE INTO checkpoints (tenant, size, signed_at, root, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)',
);

const failure = (error) => ({ message: String((error && error.message) || error), code: error && error.code });

parentPort.on('message', (message) => {
  try {
    if (message.op === 'append') {
      parentPort.postMessage({ id: message.id, moved: append.immediate(message) });
    } else if (message.op === 'checkpoint') {
      const c = message.checkpoint;
      insertCheckpoint.run(c.tenantId, c.size, c.signedAt, c.rootHash, c.keyId, c.signature);
      parentPort.postMessage({ id: message.id, done: true });
    } else if (message.op === 'autocheckpoint') {
      db.pragma('wal_autocheckpoint = ' + message.pages);
      parentPort.postMessage({ id: message.id, done: true });
    } else if (message.op === 'close') {
      db.close();
      parentPort.postMessage({ id: message.id, done: true });
    }
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: failure(error) });
  }
});
`;

type FromThread = { id: number; moved: boolean } | { id: number; error: ThreadFailure } | { id: number; done: true };

export interface LedgerWriterSettings {
  busyTimeoutMs: number;
  /** 0 when the WAL is checkpointed elsewhere (src/shared/wal-checkpointer.ts). */
  walAutocheckpoint: number;
}

/** Thrown for the appends a dead thread had: the projection's retry recomputes them from the head. */
export class LedgerWriterDiedError extends Error {}

export class LedgerWriterThread extends SqliteWriter<FromThread, LedgerWriterSettings> {
  constructor(file: string, settings: LedgerWriterSettings) {
    super(
      THREAD,
      file,
      settings,
      (detail) => new LedgerWriterDiedError(`the ledger's writer thread ended (${detail}); the append may or may not be stored`),
    );
  }

  /** The ledger store's `append`, on the thread: false when the tenant's head is no longer at `fromPosition`. */
  async append(head: LedgerHead, fromPosition: number, leaves: readonly LedgerLeaf[], nodes: readonly LedgerNode[]): Promise<boolean> {
    const answer = await this.thread.request({
      op: 'append',
      tenant: head.tenantId,
      from: fromPosition,
      size: head.size,
      position: head.position,
      frontier: Buffer.concat(head.frontier),
      leaves: leaves.map((l) => ({ index: l.index, position: l.position, hash: l.hash })),
      nodes: nodes.filter((n) => n.level > 0).map((n) => ({ level: n.level, index: n.index, hash: n.hash })),
    });
    if ('error' in answer) throw threadError(answer.error);
    if (!('moved' in answer)) throw new Error('the ledger writer thread closed');
    if (answer.moved) this.commits++;
    return answer.moved;
  }

  /** Stores a signed checkpoint (one of the thread's commits too: no lock to wait for on the event loop). */
  async saveCheckpoint(checkpoint: SignedCheckpoint): Promise<void> {
    const answer = await this.thread.request({ op: 'checkpoint', checkpoint: { ...checkpoint } });
    if ('error' in answer) throw threadError(answer.error);
  }
}
