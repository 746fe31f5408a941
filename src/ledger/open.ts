import path from 'node:path';
import type { Config } from '../config/config.js';
import type { DocumentStore } from '../readmodels/port.js';
import { DocumentLedgerStore } from './document-store.js';
import type { LedgerStore } from './store.js';

/**
 * Where the ledger lives: with MongoDB read models, in their database (every
 * replica shares it); with the embedded SQLite log, in `ledger.sqlite` beside
 * it (durable across restarts, whatever the read models); with KurrentDB, in
 * the SQLite read models' file (the configuration refuses memory read models
 * there); with the memory log (tests), in the read models' store.
 */
export async function openLedgerStore(config: Config, documents: DocumentStore): Promise<LedgerStore> {
  if (config.readModels === 'mongodb' || config.eventStore === 'memory') return new DocumentLedgerStore(documents);
  if (config.eventStore === 'sqlite') {
    const { SqliteLedgerStore } = await import('./sqlite-store.js');
    return new SqliteLedgerStore(path.join(config.dataDir, 'ledger.sqlite'), { backgroundCheckpoints: true });
  }
  return new DocumentLedgerStore(documents);
}
