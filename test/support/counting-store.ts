/**
 * Wraps a document store to record every collection call (its filter, and
 * how many documents a read returned), and optionally to hold a call until
 * the test lets it go: store work is counted, never timed.
 */
import type { Collection, Document, DocumentStore, Filter } from '../../src/readmodels/port.js';

export interface StoreCall {
  collection: string;
  method: string;
  filter: Filter | undefined;
  /** Documents a find returned (null for other methods). */
  returned: number | null;
}

/** Runs before the call; may wait (to interleave a test's steps) or throw (to fail it). */
export type Gate = (call: StoreCall) => Promise<void> | void;

const READS = new Set(['find', 'findOne', 'countDocuments', 'stream']);

export class CountingStore {
  readonly calls: StoreCall[] = [];
  gate: Gate | null = null;

  /** Reads (find, findOne, countDocuments, stream) of collections whose name starts with `prefix`. */
  reads(prefix: string): StoreCall[] {
    return this.calls.filter((c) => c.collection.startsWith(prefix) && READS.has(c.method));
  }

  reset(): void {
    this.calls.length = 0;
  }

  readonly wrap = (inner: DocumentStore): DocumentStore => {
    const calls = this.calls;
    const gate = (): Gate | null => this.gate;
    return new Proxy(inner, {
      get(target, property, receiver) {
        if (property !== 'collection') return Reflect.get(target, property, receiver) as unknown;
        return <T extends Document>(name: string): Collection<T> =>
          new Proxy(target.collection<T>(name), {
            get(collection, method, r) {
              const value = Reflect.get(collection, method, r) as unknown;
              if (typeof value !== 'function') return value;
              return (...args: unknown[]): unknown => {
                const call: StoreCall = { collection: name, method: String(method), filter: args[0] as Filter | undefined, returned: null };
                const run = (): unknown => (value as (...a: unknown[]) => unknown).apply(collection, args);
                // stream() returns an async iterable, not a promise: count it, do not hold it.
                if (method === 'stream') {
                  calls.push(call);
                  return run();
                }
                return (async () => {
                  await gate()?.(call);
                  calls.push(call);
                  const result = await (run() as Promise<unknown>);
                  if (method === 'find' && Array.isArray(result)) call.returned = result.length;
                  return result;
                })();
              };
            },
          });
      },
    });
  };
}

/** A promise a test resolves by hand (to release a held store call). */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
