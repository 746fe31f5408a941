/**
 * Backup and restore of an embedded data dir: the SQLite event log, the
 * vault, the ledger, and the small files beside them (the master key when it
 * was generated there, the admin token's hash, the installation marker).
 *
 * Online and consistent: each SQLite file is copied through SQLite's backup
 * API from a connection of its own, so a gateway may keep writing meanwhile;
 * each copy is one consistent snapshot of its file. The ledger is copied
 * before the log (it is built from the log and catches up from it at the
 * next start; a ledger ahead of its log would read as tampering), the vault
 * after it (it then holds at least every value the log copy refers to; a
 * value newer than the log copy is an orphan, harmless).
 *
 * A backup directory holds the files and `backup.json` (the log's id, its
 * head position, each file's size and SHA-256); restore checks every file
 * against it before anything in the data dir is touched.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { INSTALLATION_FILE, InstallationGuard } from './installation.js';

export const EVENTS_FILE = 'events.sqlite';
export const BACKUP_MANIFEST = 'backup.json';
/**
 * SQLite files of a data dir, in the order they are copied: the ledger (built
 * from the log) before the log, so that it never covers events the log copy
 * lacks (it catches up at start); the vault after it, so that it holds every
 * value the log copy refers to.
 */
const SQLITE_FILES = ['ledger.sqlite', EVENTS_FILE, 'vault.sqlite'];
/** Plain files copied as they are (written once, atomically, by the process). */
const PLAIN_FILES = ['master.key', 'admin-token.sha256'];

export interface BackupManifest {
  logId: string;
  position: number;
  createdAt: string;
  files: { name: string; bytes: number; sha256: string }[];
}

/** A backup or restore refused: `conflict` when the target already holds something, else the input is not acceptable. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    message: string,
    readonly conflict = false,
  ) {
    super(message);
  }
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function logIdentity(file: string): { logId: string; position: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const id = db.prepare('SELECT id FROM log_identity WHERE one = 1').get() as { id: string } | undefined;
    if (!id) throw new BackupError(`${file} has no log id yet: start the gateway on it once, then back it up`);
    const head = (db.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new BackupError(`${file} fails SQLite's quick_check: ${String(check)}`);
    return { logId: id.id, position: head };
  } finally {
    db.close();
  }
}

/** Copies the data dir into `target` (a new or empty directory). */
export async function backupDataDir(dataDir: string, target: string): Promise<BackupManifest> {
  if (!existsSync(path.join(dataDir, EVENTS_FILE))) throw new BackupError(`${dataDir} holds no ${EVENTS_FILE}: nothing to back up`);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new BackupError(`${target} is not empty: back up into a new directory`, true);
  mkdirSync(target, { recursive: true });
  for (const name of SQLITE_FILES) {
    const source = path.join(dataDir, name);
    if (!existsSync(source)) continue;
    // A connection of our own (read-write: a read-only one cannot join a WAL database whose -shm is missing); it writes nothing.
    const db = new Database(source, { fileMustExist: true });
    try {
      await db.backup(path.join(target, name));
    } finally {
      db.close();
    }
    // The copy as one self-contained file (rollback journal): it opens read-only anywhere, and the gateway turns WAL on again.
    const copy = new Database(path.join(target, name), { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
  }
  for (const name of PLAIN_FILES) {
    const source = path.join(dataDir, name);
    if (existsSync(source)) copyFileSync(source, path.join(target, name));
  }
  const { logId, position } = logIdentity(path.join(target, EVENTS_FILE));
  const files = readdirSync(target)
    .sort()
    .map((name) => ({ name, bytes: statSync(path.join(target, name)).size, sha256: sha256(path.join(target, name)) }));
  const manifest: BackupManifest = { logId, position, createdAt: new Date().toISOString(), files };
  writeFileSync(path.join(target, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Restores a backup into `dataDir`. A data dir that already holds a log is
 * refused unless `replace`: then its files are moved aside into
 * `replaced-<time>/` inside it, never deleted.
 */
export function restoreDataDir(source: string, dataDir: string, options: { replace?: boolean } = {}): BackupManifest {
  const manifestPath = path.join(source, BACKUP_MANIFEST);
  if (!existsSync(manifestPath)) throw new BackupError(`${source} is not a backup (no ${BACKUP_MANIFEST})`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BackupManifest;
  for (const file of manifest.files) {
    const copy = path.join(source, file.name);
    if (!existsSync(copy) || statSync(copy).size !== file.bytes || sha256(copy) !== file.sha256) {
      throw new BackupError(`${copy} does not match ${BACKUP_MANIFEST} (missing, truncated or altered): not restoring`);
    }
  }
  const identity = logIdentity(path.join(source, EVENTS_FILE));
  if (identity.logId !== manifest.logId) throw new BackupError(`${source}: the log is not the one ${BACKUP_MANIFEST} names`);

  mkdirSync(dataDir, { recursive: true });
  const present = readdirSync(dataDir).filter(
    (name) =>
      name === INSTALLATION_FILE ||
      manifest.files.some((f) => f.name === name) ||
      // The read models too: built from the log being replaced, they (and the ledger projection's checkpoint in
      // them) would be ahead of the restored one; moved aside, they are rebuilt from it at the next start.
      /^(events|vault|ledger|readmodels)\.sqlite(-wal|-shm)?$/.test(name),
  );
  if (present.length > 0) {
    if (!options.replace) {
      throw new BackupError(
        `${dataDir} already holds an installation (${present.join(', ')}): restore into an empty data dir, or pass --replace to move these files aside`,
        true,
      );
    }
    const aside = path.join(dataDir, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(aside);
    for (const name of present) renameSync(path.join(dataDir, name), path.join(aside, name));
  }
  for (const file of manifest.files) {
    const temporary = path.join(dataDir, `${file.name}.restoring`);
    copyFileSync(path.join(source, file.name), temporary);
    renameSync(temporary, path.join(dataDir, file.name));
  }
  rmSync(path.join(dataDir, `${INSTALLATION_FILE}.tmp`), { force: true });
  // The marker of the restored log: the next start checks the log against it.
  InstallationGuard.before(path.join(dataDir, EVENTS_FILE)).record(manifest.logId, identity.position);
  return manifest;
}
