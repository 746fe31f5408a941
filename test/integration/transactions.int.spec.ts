/**
 * Transactions, the DocumentStore's optional capability, and the projection
 * runner's use of it.
 *
 * What runs where:
 * - memory store: always (no transactions: `inTransaction` just runs the function);
 * - SQLite store: always (real transactions: a batch and its checkpoint commit together);
 * - mongodb adapter against the MongoDB-wire server of the test run
 *   (FerretDB here, which has no transactions): detection, `on` refused,
 *   `auto` projecting exactly as before;
 * - the runner's transactional path against a memory store that SIMULATES
 *   transactions (snapshot, restore on a throw): it checks what the runner
 *   puts inside one transaction and what it does when one fails, not MongoDB;
 * - the real thing, a MongoDB replica set: only when
 *   TENANTRY_TEST_MONGODB_REPLSET_URI is set. No replica set exists on the
 *   machine this is developed on, so there it says SKIPPED.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Application, openDocumentStore } from '../../src/application/application.js';
import { eventIdFor } from '../../src/commands/handler.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { upcasters } from '../../src/events/upcasting.js';
import { documentProjection, type ReadModelDocument } from '../../src/projections/runtime/projection.js';
import { CHECKPOINTS, CheckpointMovedError, PoisonEventError, ProjectionRunner } from '../../src/projections/runtime/runner.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { SqliteDocumentStore } from '../../src/readmodels/sqlite.js';
import {
  detectTransactionSupport,
  MongoDocumentStore,
  MongoTransactionsUnsupportedError,
  TransactionAbortedError,
} from '../../src/readmodels/mongodb.js';
import {
  DuplicateKeyError,
  inTransaction,
  transactionsOf,
  type Collection,
  type Document,
  type DocumentStore,
} from '../../src/readmodels/port.js';
import { silentLogger } from '../../src/shared/logger.js';
import { mongoSkipReason, testDatabaseName, testMongoUri } from '../support/mongo.js';

const REPLSET_ENV = 'TENANTRY_TEST_MONGODB_REPLSET_URI';

const namespaceEvent = (n: number, id: string, description: string): NewEvent => ({
  id: eventIdFor(`tx-${id}-${n}`, 0),
  type: n === 0 ? 'NamespaceCreated' : 'NamespaceUpdated',
  schemaVersion: 1,
  data: n === 0 ? { id, description } : { id, changes: { description: { before: null, after: description } } },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 't' },
    correlationId: 'c',
    commandId: `tx-${id}-${n}`,
    occurredAt: new Date(n * 1000).toISOString(),
  },
});

interface Described extends ReadModelDocument {
  description: string;
}

/** A document per namespace holding its description; `refuse` makes it throw (a poison event, or a failure inside a transaction). */
function describedProjection(refuse: (description: string) => boolean = () => false) {
  return documentProjection({
    name: 'described',
    version: 1,
    collection: 'described',
    eventTypes: ['NamespaceCreated', 'NamespaceUpdated'],
    documentId: (e) => `t/${(e.data as { id: string }).id}`,
    evolve: (_doc: Described | null, e) => {
      const description =
        e.type === 'NamespaceCreated'
          ? (e.data as { description: string }).description
          : (e.data as { changes: { description: { after: string } } }).changes.description.after;
      if (refuse(description)) throw new Error(`refusing ${description}`);
      return { _id: `t/${(e.data as { id: string }).id}`, tenantId: 't', _pos: e.position, description };
    },
  });
}

async function logWith(events: NewEvent[][]): Promise<MemoryEventStore> {
  const store = new MemoryEventStore();
  for (const stream of events) {
    const id = (stream[0]?.data as { id: string }).id;
    await store.appendToStream(`t/namespace/${id}`, stream, { expectedRevision: 'no_stream' });
  }
  return store;
}

const WRITES = new Set(['insertOne', 'updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany', 'bulkWrite']);

/**
 * A memory store that SIMULATES transactions: withTransaction snapshots every
 * collection, runs the function, and restores the snapshot if it throws. One
 * caller at a time; enough to test what the runner does with the capability.
 * It records every write and whether it happened inside a transaction.
 */
class SimulatedTransactionStore implements DocumentStore {
  readonly kind = 'memory' as const;
  readonly transactions = true;
  readonly inner = new MemoryDocumentStore();
  transactionCalls = 0;
  inside = false;
  readonly writes: { collection: string; op: string; inside: boolean }[] = [];

  collection<T extends Document = Document>(name: string): Collection<T> {
    const target = this.inner.collection<T>(name);
    return new Proxy(target, {
      get: (t, prop, receiver) => {
        const value: unknown = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        if (typeof prop === 'string' && WRITES.has(prop)) {
          return (...args: unknown[]) => {
            this.writes.push({ collection: name, op: prop, inside: this.inside });
            return method.apply(t, args);
          };
        }
        return method.bind(t);
      },
    });
  }

  listCollections(): Promise<string[]> {
    return this.inner.listCollections();
  }
  renameCollection(from: string, to: string): Promise<void> {
    return this.inner.renameCollection(from, to);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  async withTransaction<T>(fn: () => Promise<T>): Promise<T> {
    this.transactionCalls++;
    const snapshot = new Map<string, Document[]>();
    for (const name of await this.inner.listCollections()) snapshot.set(name, await this.inner.collection(name).find({}));
    this.inside = true;
    try {
      return await fn();
    } catch (error) {
      for (const name of await this.inner.listCollections()) {
        const collection = this.inner.collection(name);
        const before = snapshot.get(name);
        if (!before) {
          await collection.drop();
          continue;
        }
        await collection.deleteMany({});
        for (const doc of before) await collection.insertOne(doc);
      }
      throw error;
    } finally {
      this.inside = false;
    }
  }
}

function runnerOn(store: DocumentStore, events: MemoryEventStore, projection = describedProjection()): ProjectionRunner {
  return new ProjectionRunner(events, store, projection, upcasters, silentLogger(), { onPoison: 'stop' });
}

describe('transactions capability: memory store', () => {
  it('has none: inTransaction runs the function, returns its value, passes its error on, and keeps its writes', async () => {
    const store = new MemoryDocumentStore();
    expect(transactionsOf(store)).toBe(false);
    expect(await inTransaction(store, () => Promise.resolve(42))).toBe(42);
    const boom = new Error('boom');
    await expect(
      inTransaction(store, async () => {
        await store.collection('kept').insertOne({ _id: 'a' });
        throw boom;
      }),
    ).rejects.toBe(boom);
    // No atomicity is claimed without transactions: the write before the throw stays.
    expect(await store.collection('kept').findOne({ _id: 'a' })).toEqual({ _id: 'a' });
  });
});

describe('the projection runner on the SQLite store (real transactions)', () => {
  it('a batch and its checkpoint commit together: when the checkpoint cannot move, none of the batch stays', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-sqlite-tx-'));
    const store = SqliteDocumentStore.open(path.join(dir, 'readmodels.sqlite'));
    try {
      expect(transactionsOf(store)).toBe(true);
      const events = await logWith([[namespaceEvent(0, 'a', 'one')], [namespaceEvent(0, 'b', 'two')]]);
      const runner = runnerOn(store, events);
      await runner.prepare();
      await store.collection(CHECKPOINTS).updateOne({ _id: runner.checkpointId }, { $set: { position: 99 } });
      await expect(runner.applyBatch(await events.readAll({}))).rejects.toBeInstanceOf(CheckpointMovedError);
      expect(await runner.collection('described').countDocuments({})).toBe(0);

      // With the checkpoint where the runner left it, the batch and the checkpoint land together.
      await store.collection(CHECKPOINTS).updateOne({ _id: runner.checkpointId }, { $set: { position: 0 } });
      const again = runnerOn(store, events);
      await again.prepare();
      await again.applyBatch(await events.readAll({}));
      expect(await again.collection('described').countDocuments({})).toBe(2);
      expect(await store.collection(CHECKPOINTS).findOne({ _id: again.checkpointId })).toMatchObject({ position: 2 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the projection runner on a store that simulates transactions', () => {
  it('applies a batch and moves its checkpoint inside one transaction', async () => {
    const events = await logWith([[namespaceEvent(0, 'a', 'one'), namespaceEvent(1, 'a', 'two')], [namespaceEvent(0, 'b', 'three')]]);
    const store = new SimulatedTransactionStore();
    const runner = runnerOn(store, events);
    await runner.prepare();
    store.writes.length = 0;
    await runner.applyBatch(await events.readAll({}));
    expect(store.transactionCalls).toBe(1);
    expect(store.writes.length).toBeGreaterThan(0);
    expect(store.writes.every((w) => w.inside)).toBe(true);
    expect(store.writes.some((w) => w.collection === CHECKPOINTS)).toBe(true);
    expect(runner.appliedPosition).toBe(3);
    expect(await store.collection(CHECKPOINTS).findOne({ _id: runner.checkpointId })).toMatchObject({ position: 3 });
    expect(await runner.collection<Described>('described').find({}, { sort: { _id: 1 } })).toMatchObject([
      { _id: 't/a', description: 'two', _pos: 2 },
      { _id: 't/b', description: 'three', _pos: 3 },
    ]);
  });

  it('a checkpoint moved by someone else aborts the batch: none of its writes stay (without transactions they would)', async () => {
    const events = await logWith([[namespaceEvent(0, 'a', 'one')]]);
    const store = new SimulatedTransactionStore();
    const runner = runnerOn(store, events);
    await runner.prepare();
    await store.collection(CHECKPOINTS).updateOne({ _id: runner.checkpointId }, { $set: { position: 99 } });
    await expect(runner.applyBatch(await events.readAll({}))).rejects.toBeInstanceOf(CheckpointMovedError);
    expect(await runner.collection('described').countDocuments({})).toBe(0);
    expect(runner.appliedPosition).toBe(0);

    // The plain path, for contrast: the batch's writes land before the compare-and-set fails (the position guards make that harmless).
    const plain = new MemoryDocumentStore();
    const plainRunner = runnerOn(plain, events);
    await plainRunner.prepare();
    await plain.collection(CHECKPOINTS).updateOne({ _id: plainRunner.checkpointId }, { $set: { position: 99 } });
    await expect(plainRunner.applyBatch(await events.readAll({}))).rejects.toBeInstanceOf(CheckpointMovedError);
    expect(await plainRunner.collection('described').countDocuments({})).toBe(1);
  });

  it('a batch that fails inside a transaction is applied again without one', async () => {
    const events = await logWith([[namespaceEvent(0, 'a', 'one')], [namespaceEvent(0, 'b', 'two')]]);
    const store = new SimulatedTransactionStore();
    // Fails only inside a transaction, as a duplicate key or a too-large transaction would.
    const runner = runnerOn(
      store,
      events,
      describedProjection(() => store.inside),
    );
    await runner.prepare();
    store.writes.length = 0;
    await runner.applyBatch(await events.readAll({}));
    expect(store.transactionCalls).toBe(1);
    expect(runner.appliedPosition).toBe(2);
    expect(await runner.collection('described').countDocuments({})).toBe(2);
    expect(store.writes.filter((w) => w.inside)).toEqual([]);
    expect(runner.status().error).toBeNull();
  });

  it('a poison event still stops the runner there, as without transactions', async () => {
    const events = await logWith([[namespaceEvent(0, 'a', 'fine'), namespaceEvent(1, 'a', 'poison'), namespaceEvent(2, 'a', 'after')]]);
    const store = new SimulatedTransactionStore();
    const runner = runnerOn(
      store,
      events,
      describedProjection((d) => d === 'poison'),
    );
    await runner.prepare();
    const failure = await runner.applyBatch(await events.readAll({})).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PoisonEventError);
    expect((failure as PoisonEventError).event.position).toBe(2);
    expect(runner.appliedPosition).toBe(1);
    expect(await runner.collection('described').findOne({ _id: 't/a' })).toMatchObject({ description: 'fine', _pos: 1 });
  });

  it('a batch the projection ignores moves the checkpoint without a transaction', async () => {
    const events = await logWith([[namespaceEvent(0, 'a', 'one')]]);
    const store = new SimulatedTransactionStore();
    const runner = new ProjectionRunner(
      events,
      store,
      { ...describedProjection(), eventTypes: new Set(['FlowCreated']) },
      upcasters,
      silentLogger(),
    );
    await runner.prepare();
    await runner.applyBatch(await events.readAll({}));
    expect(store.transactionCalls).toBe(0);
    expect(runner.appliedPosition).toBe(1);
  });
});

const uri = testMongoUri();

describe.skipIf(!uri)('mongodb adapter against the test server (FerretDB here): transaction detection', () => {
  const database = testDatabaseName('transactions');
  afterAll(async () => {
    const store = await MongoDocumentStore.connect(uri ?? '', database, { transactions: 'off' });
    await store.dropDatabase();
    await store.close();
  });

  it('auto: detection says what the server is; on FerretDB, no transactions', async () => {
    const store = await MongoDocumentStore.connect(uri ?? '', database);
    try {
      expect(store.transactionMode).toBe('auto');
      const hello = await store.db.admin().command({ hello: 1 });
      expect(store.serverInfo.transactionSupport).toEqual(detectTransactionSupport(hello, store.serverInfo.ferretdbVersion));
      if (store.isFerretDB) {
        expect(store.transactions).toBe(false);
        expect(transactionsOf(store)).toBe(false);
        expect(store.serverInfo.transactionSupport.reason).toMatch(/^FerretDB .* does not implement transactions$/);
        // Its hello has no replica-set name: even unmarked it would not pass for a server with transactions.
        expect(hello['setName']).toBeUndefined();
        expect(detectTransactionSupport(hello).supported).toBe(false);
      }
    } finally {
      await store.close();
    }
  });

  it('on: refused with an error that says why; off: none', async () => {
    const probe = await MongoDocumentStore.connect(uri ?? '', database, { transactions: 'off' });
    const supported = probe.serverInfo.transactionSupport.supported;
    expect(probe.transactions).toBe(false);
    await probe.close();
    if (supported) return; // a replica set: `on` connects (see the replica-set suite)
    const refused = await MongoDocumentStore.connect(uri ?? '', database, { transactions: 'on' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MongoTransactionsUnsupportedError);
    expect((refused as Error).message).toMatch(/^transactions were required, but this MongoDB server does not offer them: /);
    // Through the configuration: a ConfigError naming the variable (the CLI prints it and exits 2).
    const config = loadConfig({
      TENANTRY_DATA_DIR: '/tmp/unused',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri ?? '',
      TENANTRY_MONGODB_DB: database,
      TENANTRY_MONGODB_TRANSACTIONS: 'on',
    });
    const error = await openDocumentStore(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('TENANTRY_MONGODB_TRANSACTIONS');
    expect((error as Error).message).toMatch(/^TENANTRY_MONGODB_TRANSACTIONS: is on, but the MongoDB server does not offer transactions: /);
  });

  it('plumbing only, transactions FORCED on against a server without them: every operation inside withTransaction is sent in the transaction, none outside', async () => {
    // This checks what the adapter SENDS (the session found through AsyncLocalStorage), by the
    // driver's command monitoring. The server then refuses (FerretDB: no commitTransaction, no
    // autocommit on writes): it says nothing about how MongoDB would run the transaction.
    const store = await MongoDocumentStore.connect(uri ?? '', database, { transactions: 'off', clientOptions: { monitorCommands: true } });
    const sent: { name: string; txnNumber: unknown; autocommit: unknown; lsid: boolean }[] = [];
    store.db.client.on('commandStarted', (e) => {
      const command = e.command as Record<string, unknown>;
      sent.push({ name: e.commandName, txnNumber: command['txnNumber'], autocommit: command['autocommit'], lsid: 'lsid' in command });
    });
    Object.defineProperty(store, 'transactions', { value: true }); // test hook: pretend the server offered them
    const docs = store.collection('plumbing');
    const operations: [string, () => Promise<unknown>][] = [
      ['find', () => docs.findOne({ _id: 'x' })],
      ['find', () => docs.find({})],
      ['aggregate', () => docs.countDocuments({})],
      [
        'find',
        async () => {
          for await (const doc of docs.stream({})) void doc;
        },
      ],
      ['insert', () => docs.insertOne({ _id: 'x' })],
      ['update', () => docs.updateOne({ _id: 'x' }, { $set: { a: 1 } }, { upsert: true })],
      ['update', () => docs.updateMany({}, { $set: { a: 1 } })],
      ['update', () => docs.replaceOne({ _id: 'x' }, { _id: 'x', a: 2 })],
      ['delete', () => docs.deleteOne({ _id: 'x' })],
      ['delete', () => docs.deleteMany({})],
      ['insert', () => docs.bulkWrite([{ insertOne: { document: { _id: 'y' } } }])],
    ];
    try {
      for (const [command, operation] of operations) {
        sent.length = 0;
        const started = Date.now();
        // One level down and after a macrotask: the session still follows the async context.
        await store
          .withTransaction(async () => {
            await new Promise((resolve) => setImmediate(resolve));
            await operation();
          })
          .catch(() => undefined);
        expect(Date.now() - started, command).toBeLessThan(5000); // refused, not retried for 120 s
        const inside = sent.find((s) => s.name === command);
        expect(inside, `${command}: ${JSON.stringify(sent)}`).toMatchObject({ lsid: true, autocommit: false });
        expect(inside?.txnNumber, command).toBeDefined();
      }
      sent.length = 0;
      await docs.find({});
      expect(sent.find((s) => s.name === 'find')?.txnNumber).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('auto without transactions: withTransaction just runs the function, and projections never ask for one', async () => {
    const store = await MongoDocumentStore.connect(uri ?? '', database);
    if (store.transactions) {
      await store.close();
      return; // a replica set: covered by the replica-set suite
    }
    expect(await store.withTransaction(() => Promise.resolve('ran'))).toBe('ran');
    const spy = vi.spyOn(store, 'withTransaction');
    const events = await logWith([[namespaceEvent(0, 'a', 'one'), namespaceEvent(1, 'a', 'two')], [namespaceEvent(0, 'b', 'three')]]);
    const app = new Application({
      config: loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused' }),
      logger: silentLogger(),
      events,
      documents: store,
      projections: [describedProjection()],
    });
    await app.start();
    await app.projections.started();
    expect(await app.projections.waitFor(3, 10_000)).toBe(true);
    const runner = app.projections.runner('described');
    expect(await runner.collection<Described>('described').find({}, { sort: { _id: 1 } })).toMatchObject([
      { _id: 't/a', description: 'two', _pos: 2 },
      { _id: 't/b', description: 'three', _pos: 3 },
    ]);
    expect(spy).not.toHaveBeenCalled();
    await app.stop();
  });
});
if (!uri) {
  const reason = mongoSkipReason();
  console.log(`[transactions] mongodb detection tests SKIPPED: ${reason}`);
}

const replSetUri = process.env[REPLSET_ENV];
if (!replSetUri) {
  console.log(
    `[transactions] MongoDB replica-set transaction tests SKIPPED: set ${REPLSET_ENV} (e.g. mongodb://localhost:27017/?replicaSet=rs0) to run them; none exists on this machine`,
  );
  describe.skip(`MongoDB replica set: real transactions (SKIPPED: set ${REPLSET_ENV} to run them)`, () => {
    it('commits, rolls back, and makes a batch and its checkpoint one transaction', () => {});
  });
} else {
  describe('MongoDB replica set: real transactions', () => {
    const database = testDatabaseName('replset');
    afterAll(async () => {
      const store = await MongoDocumentStore.connect(replSetUri, database, { transactions: 'off' });
      await store.dropDatabase();
      await store.close();
    });

    it('detected; on connects', async () => {
      const store = await MongoDocumentStore.connect(replSetUri, database, { transactions: 'on' });
      expect(store.transactions).toBe(true);
      expect(store.serverInfo.transactionSupport.reason).toMatch(/^(replica set|sharded cluster)/);
      await store.close();
    });

    it('commits what the function wrote; rolls back all of it when the function throws', async () => {
      const store = await MongoDocumentStore.connect(replSetUri, database, { transactions: 'on' });
      try {
        const docs = store.collection('tx_docs');
        await docs.insertOne({ _id: 'seed' });
        expect(
          await store.withTransaction(async () => {
            await docs.insertOne({ _id: 'a' });
            await docs.updateOne({ _id: 'seed' }, { $set: { touched: true } });
            return 'done';
          }),
        ).toBe('done');
        expect(await docs.countDocuments({})).toBe(2);
        await expect(
          store.withTransaction(async () => {
            await docs.insertOne({ _id: 'b' });
            await docs.deleteOne({ _id: 'seed' });
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect((await docs.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['a', 'seed']);
      } finally {
        await store.close();
      }
    });

    it('a duplicate key caught inside still loses the transaction: TransactionAbortedError, nothing written', async () => {
      const store = await MongoDocumentStore.connect(replSetUri, database, { transactions: 'on' });
      try {
        const docs = store.collection('tx_dups');
        await docs.insertOne({ _id: 'taken' });
        const error = await store
          .withTransaction(async () => {
            await docs.insertOne({ _id: 'new' });
            await docs.insertOne({ _id: 'taken' }).catch((e: unknown) => {
              if (!(e instanceof DuplicateKeyError)) throw e;
            });
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransactionAbortedError);
        expect(await docs.findOne({ _id: 'new' })).toBeNull();
      } finally {
        await store.close();
      }
    });

    it('the runner: a batch and its checkpoint commit together; a moved checkpoint aborts the batch', async () => {
      const store = await MongoDocumentStore.connect(replSetUri, database, { transactions: 'on' });
      try {
        const events = await logWith([[namespaceEvent(0, 'a', 'one'), namespaceEvent(1, 'a', 'two')]]);
        const runner = runnerOn(store, events);
        await runner.prepare();
        const spy = vi.spyOn(store, 'withTransaction');
        await runner.applyBatch(await events.readAll({}));
        expect(spy).toHaveBeenCalledTimes(1);
        expect(runner.appliedPosition).toBe(2);
        expect(await runner.collection('described').findOne({ _id: 't/a' })).toMatchObject({ description: 'two', _pos: 2 });

        const more = await logWith([[namespaceEvent(0, 'b', 'three')]]);
        const second = runnerOn(store, more);
        await store.collection(CHECKPOINTS).deleteOne({ _id: second.checkpointId });
        await second.collection('described').deleteMany({});
        await second.prepare();
        await store.collection(CHECKPOINTS).updateOne({ _id: second.checkpointId }, { $set: { position: 99 } });
        await expect(second.applyBatch(await more.readAll({}))).rejects.toBeInstanceOf(CheckpointMovedError);
        expect(await second.collection('described').countDocuments({})).toBe(0);
      } finally {
        await store.close();
      }
    });
  });
}
