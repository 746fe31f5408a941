import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { v4 as uuid } from 'uuid';
import { afterAll, describe, expect, it } from 'vitest';
import { eventIdFor } from '../../src/commands/handler.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { testDatabaseName, testMongoUri, UNUSED_MONGO_URI } from '../support/mongo.js';
import { startGatewayProcess, waitCaughtUp } from '../support/process.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';
import { tenantryArgs } from '../support/tenantry-command.js';

const uri = testMongoUri();
if (!uri)
  console.log('[rebuild-cli] CLI rebuild tests against MongoDB SKIPPED: no MongoDB-wire server (TENANTRY_TEST_MONGODB_URI or ferretdb)');

const root = path.resolve(import.meta.dirname, '../..');

async function seedLog(file: string, count: number): Promise<void> {
  const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
  for (let i = 0; i < count; i += 5) {
    const tenantId = i % 10 === 0 ? 't1' : 't2';
    const id = `ns${i}`;
    const events: NewEvent[] = [0, 1, 2, 3, 4].map((r) => {
      const command = uuid();
      return {
        id: eventIdFor(command, 0),
        type: r === 0 ? 'NamespaceCreated' : 'NamespaceUpdated',
        schemaVersion: 1,
        data: r === 0 ? { id, description: null } : { id, changes: { description: { before: null, after: `r${r}` } } },
        metadata: {
          tenantId,
          namespace: id,
          actor: { type: 'SYSTEM', id: 'seed' },
          correlationId: command,
          commandId: command,
          occurredAt: new Date().toISOString(),
        },
      };
    });
    await store.appendToStream(`${tenantId}/namespace/${id}`, events, { expectedRevision: 'no_stream' });
  }
  await store.close();
}

interface CliRun {
  code: number | null;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, killWhen?: (stderr: string) => boolean): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killWhen?.(stderr)) child.kill('SIGKILL');
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(!uri)('projections rebuild from the CLI, against MongoDB read models', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-rebuild-'));
  const databases = [testDatabaseName('clean'), testDatabaseName('killed'), testDatabaseName('tenant'), testDatabaseName('staged')];
  const tenantDataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-rebuild-tenant-'));
  // The body of a skipped describe still runs (to collect its tests): no URI must not throw here.
  const client = new MongoClient(uri ?? UNUSED_MONGO_URI);
  const env = (db: string, dir = dataDir): Record<string, string> => ({
    TENANTRY_DATA_DIR: dir,
    TENANTRY_READ_MODELS: 'mongodb',
    TENANTRY_MONGODB_URI: uri ?? '',
    TENANTRY_MONGODB_DB: db,
    TENANTRY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    TENANTRY_PROJECTION_LEASE_MS: '1500',
    TENANTRY_LOG_LEVEL: 'warn',
  });
  afterAll(async () => {
    for (const db of databases)
      await client
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(tenantDataDir, { recursive: true, force: true });
  });

  async function namespaces(db: string) {
    const alias = await client.db(db).collection<{ _id: string; target: string }>('read_model_aliases').findOne({ _id: 'namespaces' });
    return client
      .db(db)
      .collection(`namespaces_${alias?.target}`)
      .find({}, { sort: { _id: 1 } })
      .toArray();
  }

  it('a rebuild killed halfway and restarted ends equal to a clean rebuild', async () => {
    await seedLog(path.join(dataDir, 'events.sqlite'), 20_000);
    const [cleanDb = '', killedDb = ''] = databases;
    const clean = await cli(['projections', 'rebuild', '--projection', 'namespaces'], env(cleanDb));
    expect(clean.code, clean.stderr).toBe(0);

    // Killed as soon as it reported progress (plain lines when stderr is not a terminal).
    const killed = await cli(['projections', 'rebuild', '--projection', 'namespaces'], env(killedDb), (err) =>
      /namespaces: \d+\/\d+/.test(err),
    );
    expect(killed.code).toBeNull();
    const resumed = await cli(['projections', 'rebuild', '--projection', 'namespaces'], env(killedDb));
    expect(resumed.code, resumed.stderr).toBe(0);
    const read = Number(/namespaces: (\d+) events in/.exec(resumed.stderr)?.[1]);
    expect(read).toBeLessThan(20_000);

    expect(await namespaces(killedDb)).toEqual(await namespaces(cleanDb));
  }, 240_000);

  it('a staged rebuild killed after a flush and restarted ends equal to a clean rebuild', async () => {
    // Runs after the first test, which seeded the log and built the clean database.
    const [cleanDb = '', , , stagedDb = ''] = databases;
    const args = ['projections', 'rebuild', '--projection', 'namespaces', '--staged', '--flush-every', '2000'];
    const checkpoints = client.db(stagedDb).collection<{ _id: string; position: number }>('projection_checkpoints');
    const flushed = async () => (await checkpoints.find({}).toArray()).find((c) => c._id.startsWith('namespaces_'))?.position ?? 0;
    // Killed as soon as a flush moved its checkpoint: the flushed part is kept, the rest is replayed.
    const child = spawn(process.execPath, tenantryArgs(...args), {
      cwd: root,
      env: { ...process.env, ...env(stagedDb) },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    let killedAt = 0;
    for (let running = true; running;) {
      killedAt = await flushed();
      if (killedAt > 0) {
        child.kill('SIGKILL');
        running = false;
      } else {
        running = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10))]);
      }
    }
    expect(await exited).toBeNull();
    expect(killedAt).toBeGreaterThanOrEqual(2000);
    expect(killedAt).toBeLessThan(20_000);
    const resumed = await cli(args, env(stagedDb));
    expect(resumed.code, resumed.stderr).toBe(0);
    const read = Number(/namespaces: (\d+) events in/.exec(resumed.stderr)?.[1]);
    expect(read).toBeLessThan(20_000);
    expect(await namespaces(stagedDb)).toEqual(await namespaces(cleanDb));
  }, 240_000);

  it("a tenant rebuild pauses a running gateway's projector, rewrites that tenant only, and hands back", async () => {
    const db = databases[2] ?? '';
    await seedLog(path.join(tenantDataDir, 'events.sqlite'), 1000);
    const gateway = await startGatewayProcess(env(db, tenantDataDir));
    // Caught up, not only ready (ready allows a lag): `before` must hold every seeded namespace.
    await waitCaughtUp(gateway.url());
    try {
      const alias = await client.db(db).collection<{ _id: string; target: string }>('read_model_aliases').findOne({ _id: 'namespaces' });
      const collection = client.db(db).collection<{ tenantId: string; description: string | null }>(`namespaces_${alias?.target}`);
      const before = await collection.find({}, { sort: { _id: 1 } }).toArray();
      await collection.updateMany({}, { $set: { description: 'CORRUPT' } });

      const run = await cli(['projections', 'rebuild', '--projection', 'namespaces', '--tenant', 't1'], env(db, tenantDataDir));
      expect(run.code, run.stderr).toBe(0);
      const after = await collection.find({}, { sort: { _id: 1 } }).toArray();
      expect(after.filter((d) => d.tenantId === 't1')).toEqual(before.filter((d) => d.tenantId === 't1'));
      expect(after.filter((d) => d.tenantId === 't2').every((d) => d.description === 'CORRUPT')).toBe(true);

      // The gateway's projector took the lease back and applies new events.
      const created = await gateway.gql<{ createNamespace: { id: string } }>(
        'main',
        `mutation { createNamespace(input: {id: "after.rebuild"}) { id } }`,
      );
      expect(created.errors).toBeUndefined();
      const listed = await gateway.gql<{ namespaces: { id: string }[] }>('main', `{ namespaces(prefix: "after.") { id } }`);
      expect(listed.data?.namespaces.map((n) => n.id)).toEqual(['after.rebuild']);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  }, 120_000);
});
