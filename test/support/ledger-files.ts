/**
 * Shared by the ledger tampering tests: the full verification's answer as
 * they read it, the on-demand checkpoint mutation, and a short-lived
 * connection to one of a data dir's SQLite files (the log, the ledger) for
 * editing it behind the gateway's back.
 */
import Database from 'better-sqlite3';
import { expectData, type TestGateway } from './gateway.js';

export interface Verification {
  ok: boolean;
  firstBrokenPosition: string | null;
  reason: string | null;
  source: string | null;
  checkedEvents?: number | null;
  checkedCheckpoints: number | null;
}

/** A full verification of tenant acme, with the fields the tamper tests compare. */
export const VERIFY = `{ verifyAuditLog(full: true) { ok firstBrokenPosition reason source checkedCheckpoints } }`;
/** Signs acme's tree head now. */
export const CHECKPOINT = `mutation { signAuditCheckpoint { tenantId size rootHash signedAt keyId signature } }`;

/** Runs `query` (VERIFY unless given) as the admin of tenant acme. */
export const verifyAcme = async (gw: TestGateway, query = VERIFY): Promise<Verification> =>
  expectData(await gw.gql<{ verifyAuditLog: Verification }>(query, {}, { tenant: 'acme' })).verifyAuditLog;

/** Opens `file`, runs `work` on it, closes it. */
export function withFile<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}
