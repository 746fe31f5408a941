/**
 * Core benchmark (issue 2): mutations per second through the application
 * layer and over HTTP, with read-your-writes on, and the time to rebuild the
 * in-memory read models from N events at start-up.
 *
 *   npx tsx bench/core.ts [--events 100000] [--mutations 3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { v4 as uuid } from 'uuid';
import { Application } from '../src/application/application.js';
import { Services } from '../src/application/services.js';
import { loadConfig } from '../src/config/config.js';
import { eventIdFor } from '../src/commands/handler.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import type { NewEvent } from '../src/eventstore/port.js';
import { MemoryDocumentStore } from '../src/readmodels/memory.js';
import { silentLogger } from '../src/shared/logger.js';
import { openApplication, startGateway, systemCaller } from '../src/server/start.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '100000' }, mutations: { type: 'string', default: '3000' } },
});
const EVENTS = Number(values.events);
const MUTATIONS = Number(values.mutations);
const TOKEN = 'bench-admin-token-0123456789';

function configFor(dataDir: string, synchronous: 'FULL' | 'NORMAL') {
  return loadConfig({
    TENANTRY_DATA_DIR: dataDir,
    TENANTRY_PORT: '0',
    TENANTRY_ADMIN_TOKEN: TOKEN,
    TENANTRY_SQLITE_SYNCHRONOUS: synchronous,
    TENANTRY_LOG_LEVEL: 'silent',
  });
}

async function mutationsInProcess(synchronous: 'FULL' | 'NORMAL', concurrency: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
  const { app, services } = await openApplication(configFor(dataDir, synchronous), silentLogger());
  const caller = systemCaller(app, 'bench');
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < MUTATIONS) {
        const i = next++;
        await services.namespaces.create(caller, 'main', { id: `bench.ns${i}` });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return MUTATIONS / seconds;
}

async function mutationsOverHttp(concurrency: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
  const running = await startGateway(configFor(dataDir, 'FULL'), silentLogger());
  const url = running.gateway.url('/api/v1/main/graphql');
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < MUTATIONS) {
        const i = next++;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            query: `mutation($id: ID!) { createNamespace(input: {id: $id}) { id revision } }`,
            variables: { id: `http.ns${i}` },
          }),
        });
        const body = (await response.json()) as { errors?: unknown };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return MUTATIONS / seconds;
}

/** N namespace events across 100 tenants, written straight into the SQLite log in batches. */
async function seedLog(file: string, total: number): Promise<void> {
  const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
  const tenants = 100;
  const perNamespace = 10; // 1 create + 9 updates
  let written = 0;
  let ns = 0;
  while (written < total) {
    const tenantId = `t${ns % tenants}`;
    const id = `company.team${Math.floor(ns / tenants)}`;
    const events: NewEvent[] = [];
    for (let r = 0; r < perNamespace && written + events.length < total; r++) {
      const command = uuid();
      events.push({
        id: eventIdFor(command, 0),
        type: r === 0 ? 'NamespaceCreated' : 'NamespaceUpdated',
        schemaVersion: 1,
        data: r === 0 ? { id, description: null } : { id, changes: { variables: { before: { r: r - 1 }, after: { r } } } },
        metadata: {
          tenantId,
          namespace: id,
          actor: { type: 'SYSTEM', id: 'bench' },
          correlationId: command,
          commandId: command,
          occurredAt: new Date().toISOString(),
        },
      });
    }
    await store.appendToStream(`${tenantId}/namespace/${id}`, events, { expectedRevision: 'no_stream' });
    written += events.length;
    ns++;
  }
  await store.close();
}

async function rebuildAtStartup(): Promise<{ seconds: number; eventsPerSecond: number }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
  const file = path.join(dataDir, 'events.sqlite');
  await seedLog(file, EVENTS);
  const config = configFor(dataDir, 'FULL');
  const events = new SqliteEventStore(file);
  const head = await events.headPosition();
  const started = performance.now();
  const app = new Application({ config, logger: silentLogger(), events, documents: new MemoryDocumentStore() });
  await app.start();
  await app.projections.waitFor(head, 600_000);
  const seconds = (performance.now() - started) / 1000;
  const count = await new Services(app).namespaces.collection('t0').countDocuments({});
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (count === 0) throw new Error('rebuild produced no namespaces');
  return { seconds, eventsPerSecond: head / seconds };
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log(`mutations (createNamespace, read-your-writes on), ${MUTATIONS} each:`);
for (const [label, run] of [
  ['in-process, SQLite synchronous=FULL, 1 client', () => mutationsInProcess('FULL', 1)],
  ['in-process, SQLite synchronous=FULL, 16 clients', () => mutationsInProcess('FULL', 16)],
  ['in-process, SQLite synchronous=NORMAL, 16 clients', () => mutationsInProcess('NORMAL', 16)],
  ['HTTP GraphQL, SQLite synchronous=FULL, 16 clients', () => mutationsOverHttp(16)],
] as const) {
  console.log(`  ${label.padEnd(52)} ${(await run()).toFixed(0).padStart(6)} mutations/s`);
}
const rebuild = await rebuildAtStartup();
console.log(
  `start-up rebuild of the in-memory read models from ${EVENTS} events (100 tenants): ${rebuild.seconds.toFixed(2)} s (${rebuild.eventsPerSecond.toFixed(0)} events/s)`,
);
