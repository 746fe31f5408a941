/**
 * Transactions (`withTransaction`, the port's optional capability): the
 * transaction mode, the errors, and the transaction scope. `transactions:
 * 'auto'` (the default) uses them where the server offers them (./server.ts),
 * `'on'` refuses to connect without them, `'off'` never uses them. Inside
 * `withTransaction(fn)` every operation of every collection of a store finds
 * the session through an AsyncLocalStorage (TransactionScopes), so callers
 * (projections) pass nothing along.
 *
 * NOT VERIFIED HERE: the machine this adapter is developed on has no MongoDB
 * replica set (only FerretDB), so the transactional path has only run through
 * its detection and its fallbacks. The tests that exercise it against a real
 * replica set run when TENANTRY_TEST_MONGODB_REPLSET_URI is set and say
 * SKIPPED otherwise.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MongoError, type ClientSession } from 'mongodb';

export type TransactionMode = 'auto' | 'on' | 'off';

/** TENANTRY_MONGODB_TRANSACTIONS=on, and the server has no transactions. */
export class MongoTransactionsUnsupportedError extends Error {
  override readonly name = 'MongoTransactionsUnsupportedError';
  constructor(readonly reason: string) {
    super(`transactions were required, but this MongoDB server does not offer them: ${reason}`);
  }
}

/**
 * An operation inside a transaction failed and the transaction is lost (the
 * server aborts a transaction at its first failed write), even if the caller
 * caught that failure and went on. Never retried by the driver: the caller
 * decides (the projection runner applies the batch again without one).
 */
export class TransactionAbortedError extends Error {
  override readonly name = 'TransactionAbortedError';
  constructor(cause: unknown) {
    super(`the transaction was aborted by an earlier failure in it: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** One attempt of one transaction: the session its operations join, until it ends. */
export interface TransactionScope {
  session: ClientSession;
  open: boolean;
  /** The first failure inside the attempt: the server has aborted the transaction. */
  failed: unknown;
}

export const isTransient = (err: unknown): boolean => err instanceof MongoError && err.hasErrorLabel('TransientTransactionError');

/** The transaction attempts of one store, by async context. Per store: a session belongs to one client. */
export class TransactionScopes {
  private readonly scopes = new AsyncLocalStorage<TransactionScope>();

  /** The open transaction attempt of the calling async context, if any. */
  active(): TransactionScope | undefined {
    const scope = this.scopes.getStore();
    return scope?.open ? scope : undefined;
  }

  /** One attempt of `fn` in `session`'s transaction (the driver's withTransaction calls it again on a transient error). */
  async attempt<T>(session: ClientSession, fn: () => Promise<T>): Promise<T> {
    const scope: TransactionScope = { session, open: true, failed: null };
    try {
      const result = await this.scopes.run(scope, fn);
      // The caller caught a failure and went on: the server has aborted the transaction anyway.
      if (scope.failed !== null) throw new TransactionAbortedError(scope.failed);
      return result;
    } finally {
      scope.open = false;
    }
  }
}
