import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Application } from '../../src/application/application.js';
import { loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { eventIdFor } from '../../src/commands/handler.js';
import { MongoDocumentStore, MongoOperationTimeoutError } from '../../src/readmodels/mongodb.js';
import { DocumentStoreUnavailableError } from '../../src/readmodels/port.js';
import { silentLogger } from '../../src/shared/logger.js';
import { findFerretdb } from '../support/global-setup.js';
import { freePort, waitUntil } from '../support/process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ferretdb = findFerretdb();
if (!ferretdb) console.log('[mongodb-network-faults] SKIPPED: no ferretdb binary (scripts/ferretdb.sh install builds one)');
const script = path.resolve(import.meta.dirname, '../../scripts/ferretdb.sh');

/** Settles with what `promise` gave, or 'still waiting' after `ms`: a test that hangs says so instead of timing out. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> =>
  Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), ms))]);

const created = (n: number): NewEvent => ({
  id: eventIdFor(`fault-${n}`, 0),
  type: 'NamespaceCreated',
  schemaVersion: 1,
  data: { id: `ns${n}`, description: null },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 't' },
    correlationId: `c${n}`,
    commandId: `fault-${n}`,
    occurredAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
  },
});

// A FerretDB of its own, reached through a TCP proxy that injects the faults.
describe.skipIf(!ferretdb)('MongoDB network faults (a FerretDB of its own behind a fault-injecting proxy)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-netfault-'));
  const ferret = (...args: string[]) =>
    execFileSync('bash', [script, ...args], { env: { ...process.env, FERRETDB_BIN: ferretdb ?? '' }, encoding: 'utf8' }).trim();
  let proxy: TcpProxy;
  let uri = '';

  beforeAll(async () => {
    const port = await freePort();
    ferret('start', dir, String(port));
    proxy = await startTcpProxy(port);
    uri = `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`;
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    try {
      ferret('stop', dir);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (db: string) =>
    MongoDocumentStore.connect(uri, db, { serverSelectionTimeoutMS: 1000, operationTimeoutMS: 1500, socketTimeoutMS: 120_000 });

  it('an operation that is only slow (the server still answers a ping) does not open the circuit breaker for everyone', async () => {
    // An operation timeout of 1 ms: a bulk write of 2,000 documents cannot answer within it, the server is fine.
    const store = await MongoDocumentStore.connect(uri, 'netfault_slow', { serverSelectionTimeoutMS: 1000, operationTimeoutMS: 1 });
    try {
      const docs = Array.from({ length: 2000 }, (_, i) => ({ insertOne: { document: { _id: `d${i}`, pad: 'x'.repeat(200) } } }));
      const failure = await store
        .collection('slow')
        .bulkWrite(docs, { ordered: false })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(MongoOperationTimeoutError);
      // The store asks a ping; it answers, so nothing fails fast.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(() => store.failFast()).not.toThrow();
    } finally {
      await store.dropDatabase().catch(() => undefined);
      await store.close();
    }
  });

  it('an operation that gets no answer and a ping that gets none either: the breaker opens', async () => {
    const store = await connect('netfault_silent');
    try {
      await store.collection('c').insertOne({ _id: 'a' });
      proxy.freeze();
      const failure = await store
        .collection('c')
        .findOne({ _id: 'a' })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(MongoOperationTimeoutError);
      await waitUntil(
        'the breaker to open',
        async () => {
          try {
            store.failFast();
            return false;
          } catch {
            return true;
          }
        },
        10_000,
      );
      proxy.thaw();
    } finally {
      proxy.thaw();
      await store.close();
    }
  });

  it('a streamed read whose server holds its answer fails within the operation timeout (it waited for the socket timeout)', async () => {
    const store = await connect('netfault_stream');
    try {
      const c = store.collection('c');
      await c.bulkWrite(
        Array.from({ length: 5 }, (_, i) => ({ insertOne: { document: { _id: `d${i}` } } })),
        { ordered: false },
      );
      proxy.hold();
      const started = Date.now();
      const read = (async () => {
        const ids: string[] = [];
        for await (const doc of c.stream({})) ids.push(doc._id);
        return ids;
      })().catch((e: unknown) => e);
      // 1.5 s operation timeout; the socket timeout of this store is 120 s.
      const outcome = await within(read, 10_000);
      expect(outcome).toBeInstanceOf(MongoOperationTimeoutError);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      proxy.thaw();
      await store.close();
    }
  });

  it('a bulk write whose connection is reset is an outage (DocumentStoreUnavailableError), not an error of the data', async () => {
    const store = await connect('netfault_bulk');
    try {
      const streams = store.collection('streams');
      await streams.bulkWrite([{ insertOne: { document: { _id: 'a' } } }], { ordered: false });
      proxy.cut();
      const failure = await streams.bulkWrite([{ insertOne: { document: { _id: 'b' } } }], { ordered: false }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DocumentStoreUnavailableError);
      proxy.thaw();
      // It recovers by itself: the circuit breaker's probe finds the server again.
      await waitUntil('the store to answer again', async () => (await streams.findOne({ _id: 'a' }).catch(() => null)) !== null, 20_000);
      await streams.bulkWrite([{ insertOne: { document: { _id: 'b' } } }], { ordered: false });
      expect(await streams.countDocuments({})).toBe(2);
    } finally {
      proxy.thaw();
      await store.close();
    }
  }, 60_000);

  it('an operation whose answer never comes (a partition without a reset) fails within the operation timeout, then the store recovers', async () => {
    const store = await connect('netfault_freeze');
    try {
      const c = store.collection('c');
      await c.updateOne({ _id: 'x' }, { $set: { n: 1 } }, { upsert: true });
      proxy.freeze();
      const started = Date.now();
      const outcome = await within(
        c.updateOne({ _id: 'x' }, { $set: { n: 2 } }).catch((e: unknown) => e),
        15_000,
      );
      expect(outcome).toBeInstanceOf(DocumentStoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(15_000);
      proxy.thaw();
      await waitUntil(
        'the store to answer again',
        async () => (await c.updateOne({ _id: 'x' }, { $set: { n: 3 } }).catch(() => null)) !== null,
        30_000,
      );
      expect((await c.findOne({ _id: 'x' }))?.['n']).toBe(3);
    } finally {
      proxy.thaw();
      await store.close();
    }
  }, 90_000);

  it('a projection whose write never gets an answer reports it, and catches up by itself once the network is back', async () => {
    const documents = await connect('netfault_runner');
    const events = new MemoryEventStore();
    const app = new Application({
      config: loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_PROJECTION_STALL_MS: '500' }),
      logger: silentLogger(),
      events,
      documents,
    });
    try {
      await app.start();
      await app.projections.started();
      await events.appendToStream('t/namespace/ns0', [created(0)], { expectedRevision: 'no_stream' });
      await waitUntil('the first event applied', () => app.projections.caughtUp(), 30_000);
      proxy.freeze();
      await events.appendToStream('t/namespace/ns1', [created(1)], { expectedRevision: 'no_stream' });
      // Behind, and saying why: a failure (the operation timed out) rather than standing still without one.
      await waitUntil(
        'the streams projection to report a failure',
        async () => (await app.projections.lag()).find((l) => l.projection === 'streams')?.error != null,
        20_000,
      );
      proxy.thaw();
      await waitUntil('every projection caught up again', () => app.projections.caughtUp(), 60_000);
      expect(await documents.collection('streams_v1').countDocuments({})).toBe(2);
    } finally {
      proxy.thaw();
      await app.stop();
    }
  }, 150_000);
});
