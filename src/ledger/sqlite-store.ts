/**
 * The ledger in a SQLite file of its own (`ledger.sqlite` in the data dir):
 * the embedded default. It is apart from the event log on purpose (an edit
 * of `events.sqlite` does not touch it), and the signing key is elsewhere
 * again. Appends are one transaction each, guarded by the head's position,
 * committed on a thread of their own (./sqlite-writer.ts).
 */
import { privateSqliteFile } from '../shared/private-files.js';
import { checkpointInBackground, SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES, type BackgroundCheckpoints } from '../shared/wal-checkpointer.js';
import Database from 'better-sqlite3';
import type { Hash } from '../shared/merkle.js';
import type { SignedCheckpoint } from './checkpoint.js';
import { LedgerWriterThread } from './sqlite-writer.js';
import type { CheckpointPageOptions, LedgerHead, LedgerLeaf, LedgerNode, LedgerStore } from './store.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS heads (tenant TEXT PRIMARY KEY, size INTEGER NOT NULL, position INTEGER NOT NULL, frontier BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS leaves (
    tenant TEXT NOT NULL, idx INTEGER NOT NULL, position INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (tenant, idx)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS leaves_position ON leaves (tenant, position);
  CREATE TABLE IF NOT EXISTS nodes (
    tenant TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (tenant, level, idx)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS checkpoints (
    tenant TEXT NOT NULL, size INTEGER NOT NULL, signed_at TEXT NOT NULL, root TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL,
    PRIMARY KEY (tenant, size, signed_at)
  ) WITHOUT ROWID;
`;

const HASH_BYTES = 32;

/** How long a statement waits for another connection's lock (the writer thread's, a CLI's). */
const BUSY_TIMEOUT_MS = 5000;

const splitFrontier = (blob: Buffer): Hash[] => {
  const out: Hash[] = [];
  for (let i = 0; i < blob.length; i += HASH_BYTES) out.push(Buffer.from(blob.subarray(i, i + HASH_BYTES)));
  return out;
};

interface CheckpointRow {
  tenant: string;
  size: number;
  signed_at: string;
  root: string;
  key_id: string;
  signature: string;
}

const checkpointOf = (row: CheckpointRow): SignedCheckpoint => ({
  tenantId: row.tenant,
  size: row.size,
  signedAt: row.signed_at,
  rootHash: row.root,
  keyId: row.key_id,
  signature: row.signature,
});

function prepare(db: Database.Database) {
  return {
    head: db.prepare<[string], { size: number; position: number; frontier: Buffer }>(
      'SELECT size, position, frontier FROM heads WHERE tenant = ?',
    ),
    tenants: db.prepare<[], { tenant: string }>('SELECT tenant FROM heads ORDER BY tenant'),
    node: db.prepare<[string, number, number], { hash: Buffer }>('SELECT hash FROM nodes WHERE tenant = ? AND level = ? AND idx = ?'),
    leaf: db.prepare<[string, number], { idx: number; position: number; hash: Buffer }>(
      'SELECT idx, position, hash FROM leaves WHERE tenant = ? AND idx = ?',
    ),
    nodes: db.prepare<[string, number, number, number], { idx: number; hash: Buffer }>(
      'SELECT idx, hash FROM nodes WHERE tenant = ? AND level = ? AND idx >= ? ORDER BY idx LIMIT ?',
    ),
    leaves: db.prepare<[string, number, number], { idx: number; position: number; hash: Buffer }>(
      'SELECT idx, position, hash FROM leaves WHERE tenant = ? AND idx >= ? ORDER BY idx LIMIT ?',
    ),
    leafAt: db.prepare<[string, number], { idx: number; position: number; hash: Buffer }>(
      'SELECT idx, position, hash FROM leaves WHERE tenant = ? AND position = ?',
    ),
    checkpoints: db.prepare<[string, number, number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE tenant = ? AND size > ? ORDER BY size, signed_at LIMIT ?',
    ),
    latest: db.prepare<[string], CheckpointRow>('SELECT * FROM checkpoints WHERE tenant = ? ORDER BY size DESC, signed_at DESC LIMIT 1'),
    // Keyset pages over the primary key (tenant, size, signed_at), in either direction.
    pageAfter: db.prepare<[string, number, number, string, number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE tenant = ? AND (size > ? OR (size = ? AND signed_at > ?)) ORDER BY size, signed_at LIMIT ?',
    ),
    pageBefore: db.prepare<[string, number, number, string, number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE tenant = ? AND (size < ? OR (size = ? AND signed_at < ?)) ORDER BY size DESC, signed_at DESC LIMIT ?',
    ),
    count: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM checkpoints WHERE tenant = ?'),
  };
}

export class SqliteLedgerStore implements LedgerStore {
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly walCheckpoints: BackgroundCheckpoints | null;

  /**
   * `backgroundCheckpoints`: the WAL is checkpointed on a thread of its own
   * (src/shared/wal-checkpointer.ts). `readOnly`: reads only, on a connection
   * of its own (a verification thread; the file must exist).
   */
  constructor(
    readonly filePath: string,
    options: { backgroundCheckpoints?: boolean; readOnly?: boolean } = {},
  ) {
    if (options.readOnly) {
      this.db = new Database(filePath, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      this.stmt = prepare(this.db);
      this.writer = null;
      this.walCheckpoints = null;
      return;
    }
    privateSqliteFile(filePath);
    this.db = new Database(filePath);
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.stmt = prepare(this.db);
    const writer = new LedgerWriterThread(filePath, {
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      walAutocheckpoint: options.backgroundCheckpoints ? 0 : SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES,
    });
    this.writer = writer;
    // The writer thread's commits leave the WAL to the checkpoint thread; if that thread fails, they checkpoint again.
    this.walCheckpoints = options.backgroundCheckpoints
      ? checkpointInBackground(this.db, filePath, (warning) => {
          writer.setWalAutocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES).catch(() => undefined);
          process.emitWarning(warning, 'TenantryWalCheckpoints');
        })
      : null;
  }

  /** The thread the appends are committed on (./sqlite-writer.ts); null when read-only. */
  private readonly writer: LedgerWriterThread | null;

  async head(tenantId: string): Promise<LedgerHead | null> {
    const row = this.stmt.head.get(tenantId);
    return row ? { tenantId, size: row.size, position: row.position, frontier: splitFrontier(row.frontier) } : null;
  }

  async tenants(): Promise<string[]> {
    return this.stmt.tenants.all().map((r) => r.tenant);
  }

  async append(head: LedgerHead, fromPosition: number, leaves: readonly LedgerLeaf[], nodes: readonly LedgerNode[]): Promise<boolean> {
    if (!this.writer) throw new Error(`${this.filePath} is open read-only`);
    return this.writer.append(head, fromPosition, leaves, nodes);
  }

  async node(tenantId: string, level: number, index: number): Promise<Hash | null> {
    if (level === 0) return this.stmt.leaf.get(tenantId, index)?.hash ?? null;
    return this.stmt.node.get(tenantId, level, index)?.hash ?? null;
  }

  async nodes(tenantId: string, level: number, fromIndex: number, count: number): Promise<LedgerNode[]> {
    return this.stmt.nodes.all(tenantId, level, fromIndex, count).map((r) => ({ level, index: r.idx, hash: r.hash }));
  }

  async leaves(tenantId: string, fromIndex: number, count: number): Promise<LedgerLeaf[]> {
    return this.stmt.leaves.all(tenantId, fromIndex, count).map((r) => ({ index: r.idx, position: r.position, hash: r.hash }));
  }

  async leafAt(tenantId: string, position: number): Promise<LedgerLeaf | null> {
    const row = this.stmt.leafAt.get(tenantId, position);
    return row ? { index: row.idx, position: row.position, hash: row.hash } : null;
  }

  async saveCheckpoint(c: SignedCheckpoint): Promise<void> {
    if (!this.writer) throw new Error(`${this.filePath} is open read-only`);
    await this.writer.saveCheckpoint(c);
  }

  async checkpoints(tenantId: string, options: { afterSize?: number; limit?: number } = {}): Promise<SignedCheckpoint[]> {
    return this.stmt.checkpoints.all(tenantId, options.afterSize ?? -1, options.limit ?? 1_000_000).map(checkpointOf);
  }

  async checkpointPage(tenantId: string, { backward, cursor, limit }: CheckpointPageOptions): Promise<SignedCheckpoint[]> {
    // No cursor: from the very start (or end), below (above) any real key.
    const size = cursor?.size ?? (backward ? Number.MAX_SAFE_INTEGER : -1);
    const signedAt = cursor?.signedAt ?? '';
    const statement = backward ? this.stmt.pageBefore : this.stmt.pageAfter;
    return statement.all(tenantId, size, size, signedAt, limit).map(checkpointOf);
  }

  async countCheckpoints(tenantId: string): Promise<number> {
    return this.stmt.count.get(tenantId)?.n ?? 0;
  }

  async latestCheckpoint(tenantId: string): Promise<SignedCheckpoint | null> {
    const row = this.stmt.latest.get(tenantId);
    return row ? checkpointOf(row) : null;
  }

  async close(): Promise<void> {
    await this.walCheckpoints?.release();
    await this.writer?.close();
    if (this.db.open) this.db.close();
  }
}
