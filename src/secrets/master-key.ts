import { privateDir } from '../shared/private-files.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;

/**
 * The master key that wraps every tenant's data key: TENANTRY_MASTER_KEY
 * when set, else `master.key` (base64) in the data dir, generated on first
 * start with mode 0600.
 *
 * Creation has O_EXCL semantics and is atomic: the key is written completely
 * to a private temporary file, then hard-linked to its final name, which
 * fails if the name exists. Two processes starting on one data dir therefore
 * agree on one key, and neither can read a half-written file.
 */
export function resolveMasterKey(configured: Buffer | null, dataDir: string): Buffer {
  if (configured) return configured;
  privateDir(dataDir);
  const file = path.join(dataDir, MASTER_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing) return existing;
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = randomBytes(KEY_BYTES);
  writeFileSync(temporary, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600); // the mode given to writeFileSync passes through the umask; this one does not
  try {
    linkSync(temporary, file);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    key.fill(0);
    const winner = readKeyFile(file);
    if (!winner) throw new Error(`${file} appeared concurrently but cannot be read`, { cause: error });
    return winner;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** A key for a vault that lives only in memory (event store `memory`): nothing outlives the process. */
export const ephemeralMasterKey = (): Buffer => randomBytes(KEY_BYTES);

function readKeyFile(file: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES)
    throw new Error(`${file} must hold ${KEY_BYTES} bytes in base64; refusing to start with a damaged master key`);
  return key;
}
