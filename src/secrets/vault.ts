/**
 * The SecretVault port: where secret values live, encrypted, and nowhere else
 * (never in an event, a read model, a log line or an error). Two adapters
 * pass one contract suite (test/contract/vault.contract.ts): `embedded`
 * (SQLite file, src/secrets/sqlite-vault.ts) and `mongodb`
 * (src/secrets/mongo-vault.ts).
 *
 * Values are kept per (tenant, namespace, key, version). A version is written
 * once and never overwritten: two concurrent puts of one secret can never
 * swap values under one version number (see SecretService.put).
 */

/** A secret that has stored values, with the lowest version stored (for the orphan sweep). */
export interface StoredKey {
  tenantId: string;
  namespace: string;
  key: string;
  minVersion: number;
}

/** One stored version of a secret. */
export interface SecretRef {
  namespace: string;
  key: string;
  version: number;
}

export interface SecretVault {
  readonly kind: 'embedded' | 'mongodb';
  /**
   * Encrypts and stores `value` as that version. Returns false, writing
   * nothing, when the version is already taken (by a concurrent put, or by a
   * put whose event was never appended).
   */
  put(tenantId: string, namespace: string, key: string, version: number, value: string): Promise<boolean>;
  /**
   * The plaintext of one version, for the platform's own use (never exposed
   * over GraphQL); null when absent or shredded.
   */
  get(tenantId: string, namespace: string, key: string, version: number): Promise<string | null>;
  /** For each ref, whether its value can still be decrypted (false after crypto-shredding). */
  available(tenantId: string, refs: readonly SecretRef[]): Promise<boolean[]>;
  /** Removes the versions of a key up to and including `throughVersion`. Idempotent. */
  delete(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void>;
  /**
   * Crypto-shredding: destroys the tenant's data key (and drops its
   * ciphertexts), so that no copy of the stored values can be decrypted
   * again. The next put creates a new data key. Idempotent.
   */
  destroyTenantKey(tenantId: string): Promise<void>;
  /** Tenants that currently hold a data key (for the startup sweep over deleted tenants). */
  keyedTenants(): Promise<string[]>;
  /**
   * The secrets that have stored values, ordered by tenant, namespace and
   * key, at most `limit` after `after` (null: from the first), each with
   * its lowest stored version: the orphan sweep pages through them. A page
   * may hold fewer than `limit` before the end; an empty one is the end.
   */
  storedKeys(after: StoredKey | null, limit: number): Promise<StoredKey[]>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The vault's storage cannot be used now (disk full, I/O error, locked,
 * unreachable): answered as SERVICE_UNAVAILABLE, never as an internal
 * error, and `/readyz` says so until a write succeeds again.
 */
export class VaultUnavailableError extends Error {
  override readonly name = 'VaultUnavailableError';
}
