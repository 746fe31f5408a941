/**
 * `tenantry project` as its own process beside a gateway run with
 * TENANTRY_PROJECTOR=off, all real processes against the MongoDB-wire server
 * of the test run (FerretDB here) and one SQLite log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { allProjections } from '../../src/projections/index.js';
import { namespacesProjection } from '../../src/projections/namespaces/namespaces.projection.js';
import { testDatabaseName, testMongoUri, UNUSED_MONGO_URI } from '../support/mongo.js';
import {
  metricValue,
  runCli,
  startGatewayProcess,
  startProjectorProcess,
  waitUntil,
  type GatewayProcess,
  type ProjectorProcess,
} from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

const uri = testMongoUri();
if (!uri) console.log('[projector-process] tenantry project tests SKIPPED: no MongoDB-wire server (TENANTRY_TEST_MONGODB_URI or ferretdb)');

const LEASE_MS = 1500;

describe('production settings refuse at start what cannot work', () => {
  it('a gateway with the projector off and in-memory read models does not start, naming the variable', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-projector-off-'));
    try {
      const run = await runCli(['serve'], { TENANTRY_DATA_DIR: dataDir, TENANTRY_PROJECTOR: 'off', TENANTRY_READ_MODELS: 'memory' });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^tenantry: configuration error: TENANTRY_PROJECTOR: off needs TENANTRY_READ_MODELS=sqlite or mongodb/m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('`tenantry project` with in-memory read models does not start, naming the variable', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-project-memory-'));
    try {
      const run = await runCli(['project'], { TENANTRY_DATA_DIR: dataDir, TENANTRY_READ_MODELS: 'memory' });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^tenantry: configuration error: TENANTRY_READ_MODELS: `tenantry project` needs sqlite or mongodb/m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!uri)(
    'TENANTRY_MONGODB_TRANSACTIONS=on against a server without transactions (FerretDB): gateway and projector refuse, naming the variable',
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-tx-on-'));
      const database = testDatabaseName('tx_on');
      try {
        const env = {
          TENANTRY_DATA_DIR: dataDir,
          TENANTRY_READ_MODELS: 'mongodb',
          TENANTRY_MONGODB_URI: uri ?? '',
          TENANTRY_MONGODB_DB: database,
          TENANTRY_MONGODB_TRANSACTIONS: 'on',
        };
        for (const command of ['serve', 'project']) {
          const run = await runCli([command], env);
          expect(run.code, command).toBe(2);
          expect(run.stderr, command).toMatch(
            /^tenantry: configuration error: TENANTRY_MONGODB_TRANSACTIONS: is on, but the MongoDB server does not offer transactions: FerretDB .* does not implement transactions\. Set it to auto or off, or use a replica set$/m,
          );
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(!uri)('a gateway with TENANTRY_PROJECTOR=off and separate `tenantry project` processes', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-projector-'));
  const database = testDatabaseName('projector');
  const gateways: GatewayProcess[] = [];
  const projectors: ProjectorProcess[] = [];
  // The body of a skipped describe still runs (to collect its tests): no URI must not throw here.
  const client = new MongoClient(uri ?? UNUSED_MONGO_URI);
  afterAll(async () => {
    for (const p of [...gateways, ...projectors]) p.child.kill('SIGKILL');
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = {
    TENANTRY_DATA_DIR: dataDir,
    TENANTRY_EVENT_STORE: 'sqlite',
    TENANTRY_READ_MODELS: 'mongodb',
    TENANTRY_MONGODB_URI: uri ?? '',
    TENANTRY_MONGODB_DB: database,
    TENANTRY_PROJECTION_LEASE_MS: String(LEASE_MS),
    TENANTRY_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
    TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
  };

  /** Events in the log, and those the namespaces projection takes. */
  async function log(): Promise<{ all: number; namespaces: { position: number; id: string }[] }> {
    const store = new SqliteEventStore(path.join(dataDir, 'events.sqlite'));
    try {
      const all = await store.readAll({ maxCount: 100_000 });
      return {
        all: all.length,
        namespaces: all
          .filter((e) => namespacesProjection.eventTypes.has(e.type))
          .map((e) => ({ position: e.position, id: String((e.data as { id?: string }).id) })),
      };
    } finally {
      await store.close();
    }
  }

  /** Every projection's checkpoint, as stored. */
  async function checkpoints(): Promise<Map<string, number>> {
    const docs = await client.db(database).collection<{ _id: string; position: number }>('projection_checkpoints').find({}).toArray();
    return new Map(docs.map((d) => [d._id, d.position]));
  }

  /** Nothing lost, nothing twice: one document per namespace at its last event's position, one audit entry per event. */
  async function expectExactlyOnce(expectedNamespaces: number): Promise<void> {
    const { all, namespaces } = await log();
    const docs = await client
      .db(database)
      .collection<{ _id: string; id: string; _pos: number }>('namespaces_v1')
      .find({ tenantId: 'main', id: { $regex: '^proj\\.' } })
      .toArray();
    expect(docs).toHaveLength(expectedNamespaces);
    for (const doc of docs) expect(doc._pos, doc.id).toBe(namespaces.filter((e) => e.id === doc.id).at(-1)?.position);
    const auditName = (
      await client
        .db(database)
        .listCollections({ name: { $regex: '^auditLogs_v' } })
        .toArray()
    )[0]?.name;
    expect(auditName).toBeDefined();
    expect(
      await client
        .db(database)
        .collection(auditName ?? '')
        .countDocuments({}),
    ).toBe(all);
  }

  async function createNamespace(gateway: GatewayProcess, id: string): Promise<void> {
    const result = await gateway.gql<{ createNamespace: { id: string } }>(
      'main',
      `mutation { createNamespace(input: {id: "${id}"}) { id } }`,
    );
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  }

  async function listed(gateway: GatewayProcess): Promise<string[]> {
    const result = await gateway.gql<{ namespaces: { id: string }[] }>('main', `{ namespaces(prefix: "proj.") { id } }`);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    return (result.data?.namespaces ?? []).map((n) => n.id).sort();
  }

  it('the gateway never applies, read-your-writes holds through the project process, and a killed project process is replaced with nothing lost or duplicated', async () => {
    const first = await startProjectorProcess(env);
    projectors.push(first);
    const gateway = await startGatewayProcess({ ...env, TENANTRY_PROJECTOR: 'off', TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '3000' });
    gateways.push(gateway);

    // Read-your-writes: each mutation is answered once the project process has applied it, so the list right after shows it.
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await createNamespace(gateway, `proj.a${i}`);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await listed(gateway)).toContain(`proj.a${i}`);
    }
    // The gateway applied nothing itself and holds no lease: it follows the shared checkpoints.
    const metrics = await gateway.metrics();
    for (const projection of allProjections()) {
      expect(metricValue(metrics, 'tenantry_projection_active', { projection: projection.name }), projection.name).toBe(0);
      expect(metricValue(metrics, 'tenantry_projection_events_applied_total', { projection: projection.name }), projection.name).toBe(0);
    }
    const leases = await client.db(database).collection<{ _id: string; owner: string }>('projection_leases').find({}).toArray();
    expect(leases.length).toBeGreaterThan(0);
    for (const lease of leases) expect(Number(lease.owner.split(':')[1]), lease._id).toBe(first.child.pid);
    expect((await fetch(gateway.url('/readyz'))).status).toBe(200);

    // kill -9 the project process. Writes go on (answered after the read-your-writes timeout, unseen until someone projects).
    first.child.kill('SIGKILL');
    await first.exited;
    for (let i = 0; i < 3; i++) await createNamespace(gateway, `proj.b${i}`);
    expect(await listed(gateway)).not.toContain('proj.b0');

    // Another project process takes the leases over once they expired, and applies from the checkpoints.
    const second = await startProjectorProcess(env);
    projectors.push(second);
    const { all } = await log();
    await waitUntil(
      'the second project process to reach the head of the log',
      async () => [...(await checkpoints()).values()].every((p) => p === all),
      LEASE_MS * 10,
    );
    expect(await listed(gateway)).toEqual([...[0, 1, 2, 3, 4].map((i) => `proj.a${i}`), ...[0, 1, 2].map((i) => `proj.b${i}`)]);
    await expectExactlyOnce(8);
    await waitUntil('the gateway to follow', async () => (await fetch(gateway.url('/readyz'))).status === 200, 5000);

    // SIGTERM: the batch in flight finishes, the checkpoint is saved, the leases are released, the process exits 0.
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.logs.some((l) => l['msg'] === 'projector stopped')).toBe(true);
    const released = await client.db(database).collection<{ _id: string; expiresAt: number }>('projection_leases').find({}).toArray();
    for (const lease of released) expect(lease.expiresAt, lease._id).toBe(0);

    // Released, not expired: a third process applies at once, and read-your-writes holds again.
    const third = await startProjectorProcess(env);
    projectors.push(third);
    const started = Date.now();
    await createNamespace(gateway, 'proj.c0');
    expect(Date.now() - started).toBeLessThan(LEASE_MS);
    expect(await listed(gateway)).toContain('proj.c0');
    await expectExactlyOnce(9);
    const audit = await gateway.gql<{ verifyAuditLog: { ok: boolean } }>('main', '{ verifyAuditLog { ok } }');
    expect(audit.data?.verifyAuditLog.ok).toBe(true);
  }, 120_000);
});
