/**
 * Wraps a real document store and counts the bytes written to it (JSON size
 * of inserted and replacing documents and of update documents), per
 * collection, so that tests can prove a write does not grow with history.
 */
import type { Collection, Document, DocumentStore, WriteOperation } from '../../src/readmodels/port.js';

const size = (value: unknown): number => JSON.stringify(value)?.length ?? 0;

function operationBytes(op: WriteOperation<Document>): number {
  if ('insertOne' in op) return size(op.insertOne.document);
  if ('replaceOne' in op) return size(op.replaceOne.replacement);
  if ('updateOne' in op) return size(op.updateOne.update);
  if ('updateMany' in op) return size(op.updateMany.update);
  return 0;
}

export class CountingDocuments {
  /** Bytes written per logical collection name (the physical name without its `_v1`, `_v2_g3` suffix). */
  readonly written = new Map<string, number>();

  reset(): void {
    this.written.clear();
  }

  bytes(collectionPrefix: string): number {
    let total = 0;
    for (const [name, bytes] of this.written) if (name.startsWith(collectionPrefix)) total += bytes;
    return total;
  }

  private add(collection: string, bytes: number): void {
    const logical = collection.replace(/_v\d+(?:_g\d+)?$/, '');
    this.written.set(logical, (this.written.get(logical) ?? 0) + bytes);
  }

  readonly wrap = (inner: DocumentStore): DocumentStore => {
    return new Proxy(inner, {
      get: (target, property, receiver) => {
        if (property !== 'collection') return Reflect.get(target, property, receiver) as unknown;
        return <T extends Document>(name: string): Collection<T> =>
          new Proxy(target.collection<T>(name), {
            get: (collection, method, r) => {
              const value = Reflect.get(collection, method, r) as unknown;
              if (typeof value !== 'function') return value;
              const call = (...args: unknown[]): unknown => (value as (...a: unknown[]) => unknown).apply(collection, args);
              return (...args: unknown[]): unknown => {
                switch (method) {
                  case 'insertOne':
                    this.add(name, size(args[0]));
                    break;
                  case 'replaceOne':
                  case 'updateOne':
                  case 'updateMany':
                    this.add(name, size(args[1]));
                    break;
                  case 'bulkWrite':
                    for (const op of args[0] as WriteOperation<Document>[]) this.add(name, operationBytes(op));
                    break;
                  default:
                    break;
                }
                return call(...args);
              };
            },
          });
      },
    });
  };
}
