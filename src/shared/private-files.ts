import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

/**
 * Files of the data dir hold the event log, secret values (encrypted), the
 * ledger and token hashes: nobody but the gateway's own user reads them.
 * Directories are created 0700 and files 0600, whatever the umask.
 */
export function privateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates a SQLite database file 0600 before SQLite opens it (SQLite gives
 * its `-wal` and `-shm` files the database file's mode), and narrows an
 * existing one and its companions to 0600.
 */
export function privateSqliteFile(file: string): void {
  if (file === ':memory:' || file === '') return;
  privateDir(path.dirname(file));
  closeSync(openSync(file, 'a', 0o600));
  for (const each of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(each)) chmodSync(each, 0o600);
  }
}

/** Narrows a file the gateway wrote to 0600 (a mode given at creation passes through the umask). */
export function privateFile(file: string): void {
  chmodSync(file, 0o600);
}
