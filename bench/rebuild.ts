/**
 * Issue 7 benchmark: rebuild throughput and start-up replay.
 *
 *   npx tsx bench/rebuild.ts --events 1000000 [--read-models memory|mongodb --mongo-uri URI [--staged]] [--log FILE]
 *
 * Writes N events across 100 tenants into a fresh SQLite log (namespaces:
 * one create then updates, flows, bindings — the mix of a real tenant), then
 *  - memory: times the start-up catch-up of every projection (what `npm
 *    start` does with the embedded default);
 *  - mongodb: times a blue/green rebuild of every projection into MongoDB
 *    (what `tenantry projections rebuild` does).
 * Prints events/s per phase and the peak RSS.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { v4 as uuid } from 'uuid';
import { Application } from '../src/application/application.js';
import { eventIdFor } from '../src/commands/handler.js';
import { loadConfig } from '../src/config/config.js';
import type { NewEvent } from '../src/eventstore/port.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { MemoryDocumentStore } from '../src/readmodels/memory.js';
import { MongoDocumentStore } from '../src/readmodels/mongodb.js';
import type { DocumentStore } from '../src/readmodels/port.js';
import { silentLogger } from '../src/shared/logger.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'read-models': { type: 'string', default: 'memory' },
    'mongo-uri': { type: 'string' },
    log: { type: 'string' },
    staged: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.events);
const TENANTS = 100;
const mode = values['read-models'] === 'mongodb' ? 'mongodb' : 'memory';

const flowSource = (ns: string, id: string, n: number) =>
  `id: ${id}\nnamespace: ${ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "${n}"\n`;

function meta(tenantId: string, namespace?: string) {
  const command = uuid();
  return {
    id: eventIdFor(command, 0),
    metadata: {
      tenantId,
      namespace,
      actor: { type: 'USER' as const, id: 'bench' },
      correlationId: command,
      commandId: command,
      occurredAt: new Date().toISOString(),
    },
  };
}

/** Per tenant, in rounds: a namespace (create + 4 updates), a flow (create + 3 updates), a binding. */
async function seed(file: string): Promise<number> {
  const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
  let written = 0;
  for (let round = 0; written < TOTAL; round++) {
    // One round's appends go together: group commit writes them in one transaction.
    const appends: Promise<unknown>[] = [];
    for (let t = 0; t < TENANTS && written < TOTAL; t++) {
      const tenantId = `tenant${t}`;
      const ns = `company.team${round}`;
      const nsEvents: NewEvent[] = [
        { ...meta(tenantId, ns), type: 'NamespaceCreated', schemaVersion: 1, data: { id: ns, description: null } },
      ];
      for (let u = 1; u <= 4; u++) {
        nsEvents.push({
          ...meta(tenantId, ns),
          type: 'NamespaceUpdated',
          schemaVersion: 1,
          data: { id: ns, changes: { variables: { before: { u: u - 1 }, after: { u } } } },
        });
      }
      appends.push(store.appendToStream(`${tenantId}/namespace/${ns}`, nsEvents, { expectedRevision: 'no_stream' }));
      const flowEvents: NewEvent[] = [];
      for (let r = 1; r <= 4; r++) {
        flowEvents.push({
          ...meta(tenantId, ns),
          type: r === 1 ? 'FlowCreated' : 'FlowUpdated',
          schemaVersion: 1,
          data: {
            namespace: ns,
            id: 'etl',
            revision: r,
            source: flowSource(ns, 'etl', r),
            description: null,
            disabled: false,
            tasks: [{ id: 't', type: 'io.kestra.plugin.core.log.Log' }],
          },
        });
      }
      appends.push(store.appendToStream(`${tenantId}/flow/${ns}/etl`, flowEvents, { expectedRevision: 'no_stream' }));
      const binding = uuid();
      appends.push(
        store.appendToStream(
          `${tenantId}/binding/${binding}`,
          [
            {
              ...meta(tenantId, ns),
              type: 'BindingCreated',
              schemaVersion: 1,
              data: { id: binding, principalType: 'USER', principalId: 'admin', roleId: 'viewer', namespace: ns },
            },
          ],
          { expectedRevision: 'no_stream' },
        ),
      );
      written += 10;
    }
    await Promise.all(appends);
    if (round % 100 === 0) process.stderr.write(`\rseeding: ${written}/${TOTAL}`);
  }
  process.stderr.write('\n');
  const head = await store.headPosition();
  await store.close();
  return head;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
sampler.unref();

const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-rebuild-bench-'));
// --log FILE keeps the seeded log there and reuses it on the next run (seeding 1M events takes minutes).
const file = values.log ?? path.join(dataDir, 'events.sqlite');
let started = performance.now();
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
let head: number;
if (values.log && existsSync(values.log)) {
  const existing = new SqliteEventStore(values.log);
  head = await existing.headPosition();
  await existing.close();
  console.log(`reusing ${head} events from ${values.log}`);
} else {
  head = await seed(file);
  console.log(`seeded ${head} events across ${TENANTS} tenants in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const config = loadConfig({ TENANTRY_DATA_DIR: dataDir, TENANTRY_LOG_LEVEL: 'silent' });
const events = new SqliteEventStore(file);
let documents: DocumentStore;
let drop = async () => {};
if (mode === 'mongodb') {
  const uri = values['mongo-uri'] ?? process.env['TENANTRY_TEST_MONGODB_URI'];
  if (!uri) throw new Error('--mongo-uri is required with --read-models mongodb');
  const db = `tenantry_bench_${Date.now()}`;
  const mongo = await MongoDocumentStore.connect(uri, db);
  documents = mongo;
  drop = () => mongo.dropDatabase();
} else {
  documents = new MemoryDocumentStore();
}
const app = new Application({ config, logger: silentLogger(), events, documents });
started = performance.now();
if (mode === 'memory') {
  // The start-up catch-up of the embedded default: every projection from an empty memory store.
  await app.start();
  await app.projections.started();
  const ok = await app.projections.waitFor(head, 3_600_000);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `start-up catch-up, all ${app.projections.runners.length} projections into memory: ${seconds.toFixed(1)} s, ${(head / seconds).toFixed(0)} events/s${ok ? '' : ' (NOT caught up)'}`,
  );
} else {
  // A blue/green rebuild of every projection, one after the other, as the CLI does.
  let total = 0;
  const how = values.staged ? 'staged (in memory, flushed every 200,000 events)' : 'batch by batch';
  for (const runner of [...new Set(['namespaces', 'flows', 'flowRevisions', 'bindings', 'auditLogs'])]) {
    const t0 = performance.now();
    const result = await app.projections.rebuild(runner, { batchSize: 2000, staged: values.staged });
    const seconds = (performance.now() - t0) / 1000;
    total += seconds;
    console.log(
      `rebuild ${runner.padEnd(14)} into MongoDB, ${how}: ${seconds.toFixed(1)} s, ${(result.events / seconds).toFixed(0)} events/s`,
    );
  }
  console.log(`total ${total.toFixed(1)} s`);
}
console.log(`peak RSS ${(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20).toFixed(0)} MB`);
await app.stop();
await drop().catch(() => undefined);
rmSync(dataDir, { recursive: true, force: true });
