import { privateDir } from '../shared/private-files.js';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { DocumentStore } from '../readmodels/port.js';
import { ephemeralMasterKey, resolveMasterKey } from './master-key.js';
import type { SecretVault } from './vault.js';

export const VAULT_FILE = 'vault.sqlite';

/**
 * Opens the vault the configuration names (TENANTRY_VAULT). The embedded
 * vault follows the event log: a file next to `events.sqlite`, or an
 * in-memory database with a throw-away master key when the log itself is in
 * memory. The mongodb vault shares the read models' connection when they are
 * in MongoDB too.
 */
export async function openVault(config: Config, documents: DocumentStore): Promise<SecretVault> {
  if (config.vault === 'mongodb') {
    const { MongoVault } = await import('./mongo-vault.js');
    const masterKey = resolveMasterKey(config.masterKey, config.dataDir);
    if (documents.kind === 'mongodb') return MongoVault.open(documents, masterKey);
    const { MongoDocumentStore } = await import('../readmodels/mongodb.js');
    const store = await MongoDocumentStore.connect(config.mongoUri ?? '', config.mongoDb);
    return MongoVault.open(store, masterKey, { ownsStore: true });
  }
  const { SqliteVault } = await import('./sqlite-vault.js');
  if (config.eventStore === 'memory') return new SqliteVault(':memory:', config.masterKey ?? ephemeralMasterKey());
  privateDir(config.dataDir);
  return new SqliteVault(path.join(config.dataDir, VAULT_FILE), resolveMasterKey(config.masterKey, config.dataDir));
}
