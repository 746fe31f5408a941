import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/projections/runtime/runner.js';
import type { Collection, Document, DocumentStore } from '../../src/readmodels/port.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { sleep } from '../support/store-hooks.js';

/**
 * A projection that defers its checkpoint move (a batch without its event
 * types) stores it up to 250 ms later. On a store with transactions (SQLite
 * read models) the next batch of its types applies its writes and moves the
 * checkpoint in one transaction, by compare-and-set from where it believes
 * the stored checkpoint is. When that batch came while the deferred move was
 * written but not yet acknowledged, the compare-and-set failed against the
 * runner's own move: the batch was counted a failure, the mutation waiting
 * for it was answered before it was applied, and the next read did not see
 * the write (found as a rare failure of governance-lifecycle.e2e with SQLite
 * read models). Here the deferred move's acknowledgement is held back 300 ms
 * by a wrapper around the real store (the store itself is real), so the
 * batch always comes in that window.
 */
const SLOW = 'service-accounts';

class SlowCheckpointAck {
  armed = false;
  private opened: () => void = () => undefined;
  /** Resolves once a deferred checkpoint move of the projection was written and its answer is being held back. */
  window: Promise<void> = Promise.resolve();

  arm(): void {
    this.armed = true;
    this.window = new Promise((resolve) => (this.opened = resolve));
  }

  readonly wrap = (inner: DocumentStore): DocumentStore => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Proxy(inner, {
      get(target, property, receiver) {
        if (property !== 'collection') return Reflect.get(target, property, receiver) as unknown;
        return <T extends Document>(name: string): Collection<T> => {
          const collection = target.collection<T>(name);
          if (name !== CHECKPOINTS) return collection;
          return new Proxy(collection, {
            get(c, method, r) {
              const value = Reflect.get(c, method, r) as unknown;
              if (method !== 'updateOne' || typeof value !== 'function') return value;
              return async (...args: unknown[]) => {
                const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(c, args);
                const filter = args[0] as { _id?: unknown };
                if (self.armed && String(filter._id).startsWith(SLOW)) {
                  self.armed = false;
                  self.opened();
                  await sleep(300);
                }
                return result;
              };
            },
          });
        };
      },
    });
  };
}

describe('a deferred checkpoint move and the next batch (SQLite read models, transactions)', () => {
  const ack = new SlowCheckpointAck();
  const lines: string[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ readModels: 'sqlite', eventStore: 'sqlite', wrapDocuments: ack.wrap, logger });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createServiceAccount(input: {id: "first-bot"}) { id } }`, {}, { tenant: 'acme' }));
    await sleep(400);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('the batch waits for the move on its way: no CheckpointMovedError, and the answer is followed by a read that sees it', async () => {
    ack.arm();
    // Not a service-accounts event: that projection defers its checkpoint move, written within 250 ms.
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "elsewhere"}) { id } }`, {}, { tenant: 'acme' }));
    await ack.window;
    // The move is written, its answer held back: the service account's batch comes now.
    expectData(await gw.gql(`mutation { createServiceAccount(input: {id: "second-bot"}) { id } }`, {}, { tenant: 'acme' }));
    const read = expectData(
      await gw.gql<{ serviceAccount: { id: string } | null }>(`{ serviceAccount(id: "second-bot") { id } }`, {}, { tenant: 'acme' }),
    );
    expect(read.serviceAccount?.id).toBe('second-bot');
    const failures = lines.filter((l) => l.includes('CheckpointMovedError') || l.includes('did not catch up'));
    expect(failures).toEqual([]);
  });
});
