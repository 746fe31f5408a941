import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { namespacesProjection } from '../../src/projections/namespaces/namespaces.projection.js';
import { testDatabaseName, testMongoUri } from '../support/mongo.js';
import { metricValue, startGatewayProcess, waitUntil, type GatewayProcess } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

const uri = testMongoUri();
if (!uri) console.log('[replicas] two-replica lease test SKIPPED: no MongoDB-wire server (TENANTRY_TEST_MONGODB_URI or ferretdb)');

const LEASE_MS = 1500;

describe.skipIf(!uri)('two gateway processes sharing the log and MongoDB read models', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-replicas-'));
  const database = testDatabaseName('replicas');
  const processes: GatewayProcess[] = [];
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    const client = new MongoClient(uri ?? '');
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every event is applied exactly once, and a killed lease holder is replaced within the lease time', async () => {
    const env = {
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri ?? '',
      TENANTRY_MONGODB_DB: database,
      TENANTRY_PROJECTION_LEASE_MS: String(LEASE_MS),
      TENANTRY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    };
    const a = await startGatewayProcess(env);
    processes.push(a);
    const b = await startGatewayProcess(env);
    processes.push(b);

    for (let i = 0; i < 20; i++) {
      const gateway = i % 2 === 0 ? a : b;
      const result = await gateway.gql<{ createNamespace: { id: string } }>(
        'main',
        `mutation { createNamespace(input: {id: "replica.ns${i}"}) { id } }`,
      );
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    }
    // Both replicas answer reads with every write, whichever replica applied it.
    for (const gateway of [a, b]) {
      const listed = await gateway.gql<{ namespaces: { id: string }[] }>('main', `{ namespaces(prefix: "replica.") { id } }`);
      expect(listed.data?.namespaces).toHaveLength(20);
    }

    // Exactly once: the two processes together applied each relevant event once.
    const log = new SqliteEventStore(path.join(dataDir, 'events.sqlite'));
    const all = await log.readAll({ maxCount: 100_000 });
    const relevant = all.filter((e) => namespacesProjection.eventTypes.has(e.type));
    const applied =
      metricValue(await a.metrics(), 'tenantry_projection_events_applied_total', { projection: 'namespaces' }) +
      metricValue(await b.metrics(), 'tenantry_projection_events_applied_total', { projection: 'namespaces' });
    expect(applied).toBe(relevant.length);
    const activeA = metricValue(await a.metrics(), 'tenantry_projection_active', { projection: 'namespaces' });
    const activeB = metricValue(await b.metrics(), 'tenantry_projection_active', { projection: 'namespaces' });
    expect(activeA + activeB).toBe(1);

    // Positions: each document carries the position of the last event applied to it.
    const client = new MongoClient(uri ?? '');
    const docs = await client
      .db(database)
      .collection<{ _id: string; id: string; _pos: number }>('namespaces_v1')
      .find({ tenantId: 'main' })
      .toArray();
    for (const doc of docs) {
      const last = relevant.filter((e) => (e.data as { id?: string }).id === doc.id).at(-1);
      expect(doc._pos, doc.id).toBe(last?.position);
    }

    // Kill -9 the holder of the namespaces lease; the other takes over within the lease time.
    const lease = await client
      .db(database)
      .collection<{ _id: string; owner: string }>('projection_leases')
      .findOne({ _id: 'namespaces_v1' });
    await client.close();
    const holderPid = Number(lease?.owner.split(':')[1]);
    const [holder, survivor] = a.child.pid === holderPid ? [a, b] : [b, a];
    expect(holder.child.pid).toBe(holderPid);
    holder.child.kill('SIGKILL');
    const handover = await waitUntil(
      'the survivor to hold the namespaces lease',
      async () => metricValue(await survivor.metrics(), 'tenantry_projection_active', { projection: 'namespaces' }) === 1,
      LEASE_MS * 3,
    );
    expect(handover).toBeLessThanOrEqual(LEASE_MS + 1000);
    const after = await survivor.gql<{ createNamespace: { id: string } }>(
      'main',
      `mutation { createNamespace(input: {id: "replica.after"}) { id } }`,
    );
    expect(after.errors).toBeUndefined();
    const listed = await survivor.gql<{ namespaces: { id: string }[] }>('main', `{ namespaces(prefix: "replica.") { id } }`);
    expect(listed.data?.namespaces).toHaveLength(21);
    await log.close();
  }, 120_000);

  it('a replica takes over within about 2 s of a SIGTERM to the lease holder, well inside the default 10 s lease', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-replicas-term-'));
    const db = testDatabaseName('replicas-term');
    const env = {
      TENANTRY_DATA_DIR: dir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI: uri ?? '',
      TENANTRY_MONGODB_DB: db,
      TENANTRY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    };
    try {
      const a = await startGatewayProcess(env);
      processes.push(a);
      const b = await startGatewayProcess(env);
      processes.push(b);
      const active = async (p: GatewayProcess) =>
        metricValue(await p.metrics(), 'tenantry_projection_active', { projection: 'namespaces' });
      await waitUntil('one replica to hold the namespaces lease', async () => (await active(a)) + (await active(b)) === 1, 20_000);
      const [holder, survivor] = (await active(a)) === 1 ? [a, b] : [b, a];
      const exited = new Promise<number | null>((resolve) => holder.child.once('exit', (code) => resolve(code)));
      const signalled = Date.now();
      holder.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await waitUntil('the survivor to hold the namespaces lease', async () => (await active(survivor)) === 1, 10_000);
      const takeover = Date.now() - signalled;
      // The default lease is 10 s: an expired lease would take that long. A released one is taken at the next try,
      // within a second (0.8-0.9 s measured, the holder's shutdown included; 2.3-2.5 s when standbys tried every 2.5 s).
      expect(takeover).toBeLessThan(2_000);
      const after = await survivor.gql<{ createNamespace: { id: string } }>(
        'main',
        `mutation { createNamespace(input: {id: "after.term"}) { id } }`,
      );
      expect(after.errors).toBeUndefined();
    } finally {
      const client = new MongoClient(uri ?? '');
      await client
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
