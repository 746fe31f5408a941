import { privateDir, privateFile } from '../shared/private-files.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time comparison of two digests (never of raw secrets of different lengths). */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export const ADMIN_TOKEN_FILE = 'admin-token.sha256';

/**
 * The bootstrap admin token: TENANTRY_ADMIN_TOKEN, or one generated on first
 * start, shown once and kept only as a hash in the data dir. The token is
 * 32 random bytes, so an unsalted SHA-256 is not open to dictionary attacks.
 */
export function resolveAdminToken(dataDir: string, configured: string | null): { hash: Buffer; generated: string | null } {
  if (configured !== null) return { hash: sha256(configured), generated: null };
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return { hash: Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'), generated: null };
  const token = `tnt_admin_${randomBytes(32).toString('base64url')}`;
  privateDir(dataDir);
  writeFileSync(file, `${sha256(token).toString('hex')}\n`, { mode: 0o600 });
  privateFile(file);
  return { hash: sha256(token), generated: token };
}
