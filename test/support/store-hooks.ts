/**
 * Wraps the real document store so a test can slow down or break its calls
 * (for `startTestGateway({ wrapDocuments })`). With no hook set, every call
 * goes straight through.
 */
import type { Collection, Document, DocumentStore } from '../../src/readmodels/port.js';

/** Runs before a collection method; may wait, or throw to fail the call. */
export type StoreHook = (collection: string, method: string) => Promise<void>;

export class HookedStore {
  hook: StoreHook | null = null;

  readonly wrap = (inner: DocumentStore): DocumentStore => {
    const current = (): StoreHook | null => this.hook;
    return new Proxy(inner, {
      get(target, property, receiver) {
        if (property !== 'collection') return Reflect.get(target, property, receiver) as unknown;
        return <T extends Document>(name: string): Collection<T> =>
          new Proxy(target.collection<T>(name), {
            get(collection, method, r) {
              const value = Reflect.get(collection, method, r) as unknown;
              if (typeof value !== 'function') return value;
              const call = (...args: unknown[]): unknown => (value as (...a: unknown[]) => unknown).apply(collection, args);
              return (...args: unknown[]): unknown => {
                const hook = current();
                // stream() returns an async iterable, not a promise: leave it alone.
                if (!hook || method === 'stream') return call(...args);
                return hook(name, String(method)).then(() => call(...args));
              };
            },
          });
      },
    });
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
