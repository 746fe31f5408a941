/**
 * What the server is: its `hello` answer, and from it whether it offers
 * multi-document transactions. MongoDB offers them on replica sets and
 * sharded clusters only: a replica set (`setName`) or a mongos
 * (`msg: 'isdbgrid'`) with logical sessions (`logicalSessionTimeoutMinutes`)
 * supports them; a standalone mongod and FerretDB (which answers `hello`
 * without `setName`, and refuses `autocommit`) do not.
 */
import { MongoServerError, type Db } from 'mongodb';

const COMMAND_NOT_FOUND = 59;

export interface TransactionSupport {
  supported: boolean;
  /** Why (or why not), in words for a log line or an error message. */
  reason: string;
}

export interface MongoServerInfo {
  /** MongoDB version the server reports (FerretDB reports the version it emulates). */
  version: string;
  /** Set when the server is FerretDB. */
  ferretdbVersion?: string;
  /** Whether the server offers multi-document transactions (from its `hello` answer). */
  transactionSupport: TransactionSupport;
}

/** MongoDB 4.0 (wire version 7) has replica-set transactions; 4.2 (wire version 8) sharded ones. */
const WIRE_VERSION_REPLICA_SET_TRANSACTIONS = 7;
const WIRE_VERSION_SHARDED_TRANSACTIONS = 8;

/**
 * Decides from a `hello` (or legacy `isMaster`) answer whether the server
 * offers multi-document transactions. FerretDB is never taken for one that
 * does, whatever it answers.
 */
export function detectTransactionSupport(hello: Record<string, unknown>, ferretdbVersion?: string): TransactionSupport {
  if (ferretdbVersion !== undefined) {
    return { supported: false, reason: `FerretDB ${ferretdbVersion} does not implement transactions` };
  }
  if (typeof hello['logicalSessionTimeoutMinutes'] !== 'number') {
    return { supported: false, reason: 'the server has no logical sessions (hello: no logicalSessionTimeoutMinutes)' };
  }
  const wire = typeof hello['maxWireVersion'] === 'number' ? hello['maxWireVersion'] : 0;
  if (typeof hello['setName'] === 'string') {
    if (wire < WIRE_VERSION_REPLICA_SET_TRANSACTIONS) {
      return { supported: false, reason: `replica set ${hello['setName']} runs a MongoDB older than 4.0 (wire version ${wire})` };
    }
    return { supported: true, reason: `replica set ${hello['setName']}` };
  }
  if (hello['msg'] === 'isdbgrid') {
    if (wire < WIRE_VERSION_SHARDED_TRANSACTIONS) {
      return { supported: false, reason: `sharded cluster (mongos) older than MongoDB 4.2 (wire version ${wire})` };
    }
    return { supported: true, reason: 'sharded cluster (mongos)' };
  }
  return {
    supported: false,
    reason:
      'a standalone server: MongoDB offers transactions on replica sets and sharded clusters only (a single-node replica set will do)',
  };
}

/** `hello`, or `isMaster` on servers older than 4.4.2 that do not know it. */
export async function hello(db: Db): Promise<Record<string, unknown>> {
  try {
    return await db.admin().command({ hello: 1 });
  } catch (err) {
    if (err instanceof MongoServerError && err.code === COMMAND_NOT_FOUND) return await db.admin().command({ isMaster: 1 });
    throw err;
  }
}
