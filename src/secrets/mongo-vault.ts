import { DuplicateKeyError, type Collection, type Document, type DocumentStore } from '../readmodels/port.js';
import { EnvelopeVault, refId, type CiphertextRecord, type DataKeyRecord, type VaultStorage } from './envelope-vault.js';
import type { SecretRef, StoredKey } from './vault.js';

/**
 * The MongoDB vault: collections `vault_keys` (one wrapped data key per
 * tenant) and `vault_secrets` (one ciphertext per secret version), through
 * the DocumentStore port, so it runs on any MongoDB-wire server the read
 * models run on. Binary fields are stored as base64 text, which every such
 * server handles alike.
 *
 * Shredding caveat: MongoDB may keep a deleted document's bytes in its
 * storage files, oplog and backups for a while. Those copies hold the data
 * key only wrapped by the master key, which lives with the gateway
 * (TENANTRY_MASTER_KEY or master.key), never in MongoDB.
 */
export const VAULT_KEYS = 'vault_keys';
export const VAULT_SECRETS = 'vault_secrets';

type KeyDocument = Document & { tenantId: string; keyId: string; iv: string; tag: string; wrapped: string; createdAt: string };
type SecretDocument = Document & SecretRef & { tenantId: string; keyId: string; iv: string; tag: string; ciphertext: string };

const b64 = (buffer: Buffer): string => buffer.toString('base64');
const bytes = (text: string): Buffer => Buffer.from(text, 'base64');

/** `_id` of a version: tenant, namespace and key are identifiers without '/', so the join is unambiguous. */
const secretDocId = (tenantId: string, ref: SecretRef): string => `${tenantId}/${refId(ref)}`;

async function insertUnlessPresent<T extends Document>(collection: Collection<T>, document: T): Promise<boolean> {
  try {
    await collection.insertOne(document);
    return true;
  } catch (error) {
    if (error instanceof DuplicateKeyError) return false;
    throw error;
  }
}

class DocumentVaultStorage implements VaultStorage {
  private readonly keys: Collection<KeyDocument>;
  private readonly secrets: Collection<SecretDocument>;

  constructor(
    private readonly store: DocumentStore,
    private readonly ownsStore: boolean,
  ) {
    this.keys = store.collection<KeyDocument>(VAULT_KEYS);
    this.secrets = store.collection<SecretDocument>(VAULT_SECRETS);
  }

  async init(): Promise<void> {
    await this.secrets.createIndexes([{ keys: { tenantId: 1, namespace: 1, key: 1, version: 1 }, name: 'tenant_secret_version' }]);
  }

  async findDataKey(tenantId: string): Promise<DataKeyRecord | null> {
    const doc = await this.keys.findOne({ _id: tenantId });
    return doc
      ? { tenantId, keyId: doc.keyId, iv: bytes(doc.iv), tag: bytes(doc.tag), ciphertext: bytes(doc.wrapped), createdAt: doc.createdAt }
      : null;
  }

  insertDataKey(record: DataKeyRecord): Promise<boolean> {
    return insertUnlessPresent(this.keys, {
      _id: record.tenantId,
      tenantId: record.tenantId,
      keyId: record.keyId,
      iv: b64(record.iv),
      tag: b64(record.tag),
      wrapped: b64(record.ciphertext),
      createdAt: record.createdAt,
    });
  }

  insertCiphertext(record: CiphertextRecord): Promise<boolean> {
    return insertUnlessPresent(this.secrets, {
      _id: secretDocId(record.tenantId, record),
      tenantId: record.tenantId,
      namespace: record.namespace,
      key: record.key,
      version: record.version,
      keyId: record.keyId,
      iv: b64(record.iv),
      tag: b64(record.tag),
      ciphertext: b64(record.ciphertext),
    });
  }

  async findCiphertexts(tenantId: string, refs: readonly SecretRef[]): Promise<CiphertextRecord[]> {
    const docs = await this.secrets.find({ _id: { $in: refs.map((ref) => secretDocId(tenantId, ref)) } });
    return docs.map((doc) => ({
      tenantId: doc.tenantId,
      namespace: doc.namespace,
      key: doc.key,
      version: doc.version,
      keyId: doc.keyId,
      iv: bytes(doc.iv),
      tag: bytes(doc.tag),
      ciphertext: bytes(doc.ciphertext),
    }));
  }

  async deleteCiphertexts(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void> {
    await this.secrets.deleteMany({ tenantId, namespace, key, version: { $lte: throughVersion } });
  }

  async deleteTenant(tenantId: string): Promise<void> {
    await this.keys.deleteOne({ _id: tenantId });
    await this.secrets.deleteMany({ tenantId });
  }

  async storedKeys(after: StoredKey | null, limit: number): Promise<StoredKey[]> {
    const from = after
      ? {
          $or: [
            { tenantId: { $gt: after.tenantId } },
            { tenantId: after.tenantId, namespace: { $gt: after.namespace } },
            { tenantId: after.tenantId, namespace: after.namespace, key: { $gt: after.key } },
          ],
        }
      : {};
    // Versions in order, so the first of each key is its lowest; keys cut off by the limit are read again from the next page.
    const docs = await this.secrets.find(from, {
      sort: { tenantId: 1, namespace: 1, key: 1, version: 1 },
      limit,
      projection: { tenantId: 1, namespace: 1, key: 1, version: 1 },
    });
    const keys: StoredKey[] = [];
    for (const doc of docs) {
      const last = keys.at(-1);
      if (last && last.tenantId === doc.tenantId && last.namespace === doc.namespace && last.key === doc.key) continue;
      keys.push({ tenantId: doc.tenantId, namespace: doc.namespace, key: doc.key, minVersion: doc.version });
    }
    // A full page may end inside a key: drop that key, the next page starts at it again.
    if (docs.length === limit && keys.length > 1) keys.pop();
    return keys;
  }

  async keyedTenants(): Promise<string[]> {
    const docs = await this.keys.find({}, { sort: { _id: 1 }, projection: { _id: 1 } });
    return docs.map((d) => d._id);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  async close(): Promise<void> {
    // The read models' store is shared with the application, which closes it.
    if (this.ownsStore) await this.store.close();
  }
}

export class MongoVault extends EnvelopeVault {
  private constructor(storage: DocumentVaultStorage, masterKey: Buffer) {
    super('mongodb', storage, masterKey);
  }

  /** `ownsStore`: close the store with the vault (a connection opened for the vault alone). */
  static async open(store: DocumentStore, masterKey: Buffer, options: { ownsStore?: boolean } = {}): Promise<MongoVault> {
    const storage = new DocumentVaultStorage(store, options.ownsStore ?? false);
    await storage.init();
    return new MongoVault(storage, masterKey);
  }
}
