import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { SecretRef, SecretVault, StoredKey } from './vault.js';

/**
 * Envelope encryption shared by every vault adapter; the adapters only store
 * records (VaultStorage).
 *
 * - Each tenant has a random 256-bit data key (DEK), stored only wrapped
 *   (AES-256-GCM) by the master key, with the tenant and key id as AAD.
 * - Each value is sealed with AES-256-GCM under the tenant's DEK, a fresh
 *   random 96-bit IV, and AAD binding tenant, namespace, key, version and
 *   DEK id: a ciphertext copied to another secret, version or tenant fails
 *   authentication instead of decrypting.
 * - Destroying the DEK record makes every ciphertext of the tenant
 *   undecryptable, wherever copies of it may linger (backups, replicas):
 *   crypto-shredding.
 *
 * DEKs are not cached: unwrapping is one AES-GCM operation, and a cache would
 * let one replica keep using a key another replica has already destroyed.
 */
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const KEY_BYTES = 32;

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export interface DataKeyRecord extends Sealed {
  tenantId: string;
  keyId: string;
  createdAt: string;
}

export interface CiphertextRecord extends Sealed, SecretRef {
  tenantId: string;
  /** The DEK the value was sealed with; a value whose DEK is gone is shredded. */
  keyId: string;
}

/** What an adapter stores. Every method is plain storage: no crypto, no policy. */
export interface VaultStorage {
  findDataKey(tenantId: string): Promise<DataKeyRecord | null>;
  /** false when the tenant already has a data key (a concurrent writer created it first). */
  insertDataKey(record: DataKeyRecord): Promise<boolean>;
  /** false when that version is already stored; never overwrites. */
  insertCiphertext(record: CiphertextRecord): Promise<boolean>;
  findCiphertexts(tenantId: string, refs: readonly SecretRef[]): Promise<CiphertextRecord[]>;
  deleteCiphertexts(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void>;
  /** Deletes the tenant's data key first (the shredding), then its ciphertexts. */
  deleteTenant(tenantId: string): Promise<void>;
  keyedTenants(): Promise<string[]>;
  storedKeys(after: StoredKey | null, limit: number): Promise<StoredKey[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

export function unseal(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  const decipher = createDecipheriv(ALGORITHM, key, sealed.iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
}

/** JSON arrays keep the fields unambiguous (no separator a key or namespace could contain). */
const dataKeyAad = (tenantId: string, keyId: string): Buffer => Buffer.from(JSON.stringify(['tenantry/dek/v1', tenantId, keyId]));
const valueAad = (tenantId: string, ref: SecretRef, keyId: string): Buffer =>
  Buffer.from(JSON.stringify(['tenantry/secret/v1', tenantId, ref.namespace, ref.key, ref.version, keyId]));

export const refId = (ref: SecretRef): string => `${ref.namespace}/${ref.key}/${ref.version}`;

/** Fails loudly and without detail: an authentication failure says nothing about the plaintext. */
export class VaultIntegrityError extends Error {
  override readonly name = 'VaultIntegrityError';
}

export class EnvelopeVault implements SecretVault {
  constructor(
    readonly kind: SecretVault['kind'],
    private readonly storage: VaultStorage,
    private readonly masterKey: Buffer,
  ) {
    if (masterKey.length !== KEY_BYTES) throw new Error(`the master key must be ${KEY_BYTES} bytes`);
  }

  async put(tenantId: string, namespace: string, key: string, version: number, value: string): Promise<boolean> {
    const ref = { namespace, key, version };
    const dataKey = await this.dataKey(tenantId);
    const plaintext = Buffer.from(value, 'utf8');
    try {
      const sealed = seal(dataKey.dek, plaintext, valueAad(tenantId, ref, dataKey.keyId));
      return await this.storage.insertCiphertext({ tenantId, ...ref, keyId: dataKey.keyId, ...sealed });
    } finally {
      plaintext.fill(0);
      dataKey.dek.fill(0);
    }
  }

  async get(tenantId: string, namespace: string, key: string, version: number): Promise<string | null> {
    const ref = { namespace, key, version };
    const [stored] = await this.storage.findCiphertexts(tenantId, [ref]);
    const keyRecord = await this.storage.findDataKey(tenantId);
    if (!stored || !keyRecord || keyRecord.keyId !== stored.keyId) return null;
    const dek = this.unwrap(keyRecord);
    try {
      return unseal(dek, stored, valueAad(tenantId, ref, stored.keyId)).toString('utf8');
    } catch {
      throw new VaultIntegrityError(`the stored value of ${tenantId}/${refId(ref)} failed authentication`);
    } finally {
      dek.fill(0);
    }
  }

  async available(tenantId: string, refs: readonly SecretRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const keyRecord = await this.storage.findDataKey(tenantId);
    if (!keyRecord) return refs.map(() => false);
    const stored = await this.storage.findCiphertexts(tenantId, refs);
    const readable = new Set(stored.filter((c) => c.keyId === keyRecord.keyId).map(refId));
    return refs.map((ref) => readable.has(refId(ref)));
  }

  delete(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void> {
    return this.storage.deleteCiphertexts(tenantId, namespace, key, throughVersion);
  }

  destroyTenantKey(tenantId: string): Promise<void> {
    return this.storage.deleteTenant(tenantId);
  }

  storedKeys(after: StoredKey | null, limit: number): Promise<StoredKey[]> {
    return this.storage.storedKeys(after, limit);
  }

  keyedTenants(): Promise<string[]> {
    return this.storage.keyedTenants();
  }

  ping(): Promise<void> {
    return this.storage.ping();
  }

  close(): Promise<void> {
    return this.storage.close();
  }

  /** The tenant's DEK, created on first use. The caller zeroes `dek` when done. */
  private async dataKey(tenantId: string): Promise<{ keyId: string; dek: Buffer }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await this.storage.findDataKey(tenantId);
      if (found) return { keyId: found.keyId, dek: this.unwrap(found) };
      const dek = randomBytes(KEY_BYTES);
      const keyId = randomUUID();
      const wrapped = seal(this.masterKey, dek, dataKeyAad(tenantId, keyId));
      if (await this.storage.insertDataKey({ tenantId, keyId, createdAt: new Date().toISOString(), ...wrapped })) return { keyId, dek };
      dek.fill(0); // another writer created the tenant's key first: use theirs
    }
    throw new Error(`could not create or read the data key of tenant ${tenantId}`);
  }

  private unwrap(record: DataKeyRecord): Buffer {
    try {
      return unseal(this.masterKey, record, dataKeyAad(record.tenantId, record.keyId));
    } catch {
      throw new VaultIntegrityError(
        `the master key cannot unwrap the data key of tenant ${record.tenantId} (was TENANTRY_MASTER_KEY or master.key changed?)`,
      );
    }
  }
}
