import { privateSqliteFile } from '../shared/private-files.js';
import { SQLITE_UNAVAILABLE_CODES } from '../shared/sqlite-errors.js';
import Database from 'better-sqlite3';
import { EnvelopeVault, type CiphertextRecord, type DataKeyRecord, type VaultStorage } from './envelope-vault.js';
import { VaultUnavailableError, type SecretRef, type StoredKey } from './vault.js';

/**
 * The embedded vault: `vault.sqlite` in the data dir (or an in-memory
 * database when the event log is in memory too).
 *
 * - synchronous=FULL always: a value is written before its event is
 *   appended, so the vault must be at least as durable as the log.
 * - secure_delete=ON, and a truncating WAL checkpoint after a tenant's key is
 *   destroyed: SQLite would otherwise leave the deleted wrapped key in free
 *   pages or in the WAL file, and crypto-shredding would shred nothing.
 * - Storage failures (disk full, I/O errors, a locked or unreadable file)
 *   become VaultUnavailableError (SERVICE_UNAVAILABLE). After a failed
 *   write, ping() fails too, and tries a small write of its own each time
 *   (a 64 KB row in vault_probe, written and deleted) until one succeeds, so that
 *   `/readyz` answers 503 while writes fail and 200 once space is back.
 */

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS vault_keys (
    tenant_id  TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    iv         BLOB NOT NULL,
    tag        BLOB NOT NULL,
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS vault_secrets (
    tenant_id  TEXT    NOT NULL,
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    key_id     TEXT    NOT NULL,
    iv         BLOB    NOT NULL,
    tag        BLOB    NOT NULL,
    ciphertext BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, namespace, key, version)
  );
  CREATE TABLE IF NOT EXISTS vault_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL, pad BLOB NOT NULL);
`;

interface KeyRow {
  tenant_id: string;
  key_id: string;
  iv: Buffer;
  tag: Buffer;
  wrapped: Buffer;
  created_at: string;
}

interface SecretRow {
  tenant_id: string;
  namespace: string;
  key: string;
  version: number;
  key_id: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

class SqliteVaultStorage implements VaultStorage {
  private readonly db: Database.Database;
  /** The last write that failed for lack of storage, until a write succeeds. */
  private writeFailure: VaultUnavailableError | null = null;

  constructor(file: string) {
    privateSqliteFile(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  /** A read; storage failures become VaultUnavailableError. */
  private read<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw mapError(error, what);
    }
  }

  /** A write; a storage failure is remembered for ping() until a write succeeds. */
  private write<T>(what: string, run: () => T): T {
    try {
      const result = run();
      this.writeFailure = null;
      return result;
    } catch (error) {
      const mapped = mapError(error, what);
      if (mapped instanceof VaultUnavailableError) this.writeFailure = mapped;
      throw mapped;
    }
  }

  async findDataKey(tenantId: string): Promise<DataKeyRecord | null> {
    const row = this.read('reading a data key', () =>
      this.db.prepare<[string], KeyRow>('SELECT * FROM vault_keys WHERE tenant_id = ?').get(tenantId),
    );
    return row
      ? { tenantId: row.tenant_id, keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.wrapped, createdAt: row.created_at }
      : null;
  }

  async insertDataKey(record: DataKeyRecord): Promise<boolean> {
    const result = this.write('storing a data key', () =>
      this.db
        .prepare('INSERT OR IGNORE INTO vault_keys (tenant_id, key_id, iv, tag, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(record.tenantId, record.keyId, record.iv, record.tag, record.ciphertext, record.createdAt),
    );
    return result.changes === 1;
  }

  async insertCiphertext(record: CiphertextRecord): Promise<boolean> {
    const result = this.write('storing a secret value', () =>
      this.db
        .prepare(
          `INSERT OR IGNORE INTO vault_secrets (tenant_id, namespace, key, version, key_id, iv, tag, ciphertext)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(record.tenantId, record.namespace, record.key, record.version, record.keyId, record.iv, record.tag, record.ciphertext),
    );
    return result.changes === 1;
  }

  async findCiphertexts(tenantId: string, refs: readonly SecretRef[]): Promise<CiphertextRecord[]> {
    const select = this.read('reading secret values', () =>
      this.db.prepare<[string, string, string, number], SecretRow>(
        'SELECT * FROM vault_secrets WHERE tenant_id = ? AND namespace = ? AND key = ? AND version = ?',
      ),
    );
    const found: CiphertextRecord[] = [];
    for (const ref of refs) {
      const row = this.read('reading a secret value', () => select.get(tenantId, ref.namespace, ref.key, ref.version));
      if (row) {
        found.push({
          tenantId: row.tenant_id,
          namespace: row.namespace,
          key: row.key,
          version: row.version,
          keyId: row.key_id,
          iv: row.iv,
          tag: row.tag,
          ciphertext: row.ciphertext,
        });
      }
    }
    return found;
  }

  async deleteCiphertexts(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void> {
    this.write('deleting old secret values', () =>
      this.db
        .prepare('DELETE FROM vault_secrets WHERE tenant_id = ? AND namespace = ? AND key = ? AND version <= ?')
        .run(tenantId, namespace, key, throughVersion),
    );
  }

  async deleteTenant(tenantId: string): Promise<void> {
    this.write('destroying a data key', () => {
      this.db.transaction(() => {
        this.db.prepare('DELETE FROM vault_keys WHERE tenant_id = ?').run(tenantId);
        this.db.prepare('DELETE FROM vault_secrets WHERE tenant_id = ?').run(tenantId);
      })();
      // Moves the zeroed pages into the main file and empties the WAL, which still held the key.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    });
  }

  async keyedTenants(): Promise<string[]> {
    const rows = this.read('listing data keys', () =>
      this.db.prepare<[], { tenant_id: string }>('SELECT tenant_id FROM vault_keys ORDER BY tenant_id').all(),
    );
    return rows.map((r) => r.tenant_id);
  }

  async storedKeys(after: StoredKey | null, limit: number): Promise<StoredKey[]> {
    // The primary key's order: one index range, a page at a time.
    const rows = this.read('listing stored secrets', () =>
      this.db
        .prepare<[string, string, string, number], { tenant_id: string; namespace: string; key: string; min_version: number }>(
          `SELECT tenant_id, namespace, key, MIN(version) AS min_version FROM vault_secrets
           WHERE (tenant_id, namespace, key) > (?, ?, ?)
           GROUP BY tenant_id, namespace, key ORDER BY tenant_id, namespace, key LIMIT ?`,
        )
        .all(after?.tenantId ?? '', after?.namespace ?? '', after?.key ?? '', limit),
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, namespace: r.namespace, key: r.key, minVersion: r.min_version }));
  }

  /** Reachable, and (after a write failed) writable again: a probe row written and deleted. */
  async ping(): Promise<void> {
    this.read('checking the vault', () => this.db.prepare('SELECT 1').get());
    if (this.writeFailure === null) return;
    this.write('probing for space after a failed write', () =>
      this.db.transaction(() => {
        // As large as a secret value may be: a row that fits a page's free space would prove nothing.
        this.db.prepare('INSERT INTO vault_probe (at, pad) VALUES (?, zeroblob(65536))').run(new Date().toISOString());
        this.db.prepare('DELETE FROM vault_probe').run();
      })(),
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The embedded vault over a SQLite file (`:memory:` for a vault that lives as long as the process). */
export class SqliteVault extends EnvelopeVault {
  constructor(file: string, masterKey: Buffer) {
    super('embedded', new SqliteVaultStorage(file), masterKey);
  }
}

function mapError(error: unknown, what: string): Error {
  if (error instanceof Database.SqliteError && SQLITE_UNAVAILABLE_CODES.test(error.code)) {
    return new VaultUnavailableError(`the vault's storage is unavailable while ${what}: ${error.code}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
