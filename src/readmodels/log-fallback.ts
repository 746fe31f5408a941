import { DocumentStoreUnavailableError } from './port.js';

/**
 * The write path must not depend on the read models: the log is the source
 * of truth. What a command needs to know (is the tenant active? what may the
 * caller do?) is read from the read models, and when their store is down,
 * from the log instead: slower, but the mutation goes through.
 */
export async function readModelOrLog<T>(fromReadModel: () => Promise<T>, fromLog: () => Promise<T>): Promise<T> {
  try {
    return await fromReadModel();
  } catch (error) {
    if (error instanceof DocumentStoreUnavailableError) return fromLog();
    throw error;
  }
}

/** For extras of an answer (timestamps from the read model): without the read models, the answer goes without them. */
export async function readModelOrNull<T>(fromReadModel: () => Promise<T | null>): Promise<T | null> {
  return readModelOrLog(fromReadModel, () => Promise.resolve(null));
}
