/**
 * The embedded DocumentStore on the read models' hot paths, for N = 1k, 20k
 * and 100k documents in one tenant:
 *
 * - the flows page: `find({ $and: [{deleted: false}], tenantId })` sorted by
 *   `{namespace: 1, id: 1}`, limit 201, and `countDocuments` of that filter
 *   (what FlowService.list sends through tenantScoped);
 * - the audit log: a filter that matches nothing (`resourceType: 'NOPE'`)
 *   sorted by `{position: -1}`, limit 51, and the unfiltered first page;
 * - inserting N audit entries with the audit projection's 7 indexes, in
 *   unordered, handed-over bulk writes of 500 (as the projection writes them),
 *   then the first query (which pays for indexes the store updates lazily),
 *   and live batches of 50 entries each followed by a query.
 *
 * Where the store counts its work (`stats()`), the documents and index keys
 * each query examined are printed too.
 *
 *   npx tsx bench/memory-store.ts [--sizes 1000,20000,100000]
 */
import { parseArgs } from 'node:util';
import { AUDIT_LOG_INDEXES } from '../src/projections/audit/audit.projection.js';
import { MemoryDocumentStore } from '../src/readmodels/memory.js';
import type { Collection, Document, Filter, FindOptions, IndexSpec, WriteOperation } from '../src/readmodels/port.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,20000,100000' } } });
const SIZES = values.sizes.split(',').map(Number);
const TENANT = 'acme';
const BATCH = 500;

const FLOW_INDEXES: IndexSpec[] = [
  { keys: { tenantId: 1, namespace: 1, id: 1 }, name: 'tenant_namespace_id', unique: true },
  { keys: { tenantId: 1, namespace: 1 }, name: 'tenant_namespace' },
  { keys: { tenantId: 1, deleted: 1, namespace: 1, id: 1 }, name: 'tenant_deleted_namespace_id' },
];
const RESOURCE_TYPES = ['FLOW', 'NAMESPACE', 'SECRET', 'ROLE', 'GROUP', 'BINDING', 'SERVICE_ACCOUNT', 'API_TOKEN'];
const ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'GRANT', 'REVOKE'];

interface Counters {
  docsExamined: number;
  keysExamined: number;
}
type Instrumented = { stats?: () => Counters; resetStats?: () => void };

function auditEntry(i: number): Document {
  const namespace = i % 7 === 0 ? null : `company.team${i % 20}`;
  return {
    _id: `evt-${String(i).padStart(8, '0')}-${(i * 2654435761) % 4294967296}`,
    tenantId: TENANT,
    namespace,
    resourceType: RESOURCE_TYPES[i % RESOURCE_TYPES.length]!,
    resourceId: `${namespace ?? 'tenant'}.res${i % 500}`,
    action: ACTIONS[i % ACTIONS.length]!,
    eventType: 'SomethingHappened',
    actor: { type: 'USER', id: `user${i % 50}` },
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    position: i + 1,
    correlationId: `corr-${i}`,
    changesJson: i % 3 === 0 ? null : JSON.stringify({ description: { before: null, after: `v${i}` } }),
    ip: null,
    userAgent: null,
    previousHash: i === 0 ? null : 'a'.repeat(64),
    hash: 'b'.repeat(64),
  };
}

function flow(i: number): Document {
  const namespace = `company.team${(i * 7919) % 50}`;
  const id = `flow${String(i).padStart(7, '0')}`;
  return {
    _id: `${TENANT}:${namespace}:${id}`,
    tenantId: TENANT,
    _pos: i + 1,
    namespace,
    id,
    revision: 1,
    source: `id: ${id}\nnamespace: ${namespace}\ntasks: []\n`,
    description: null,
    disabled: false,
    tasks: [],
    deleted: i % 10 === 3,
    updatedAt: '2026-01-01T00:00:00.000Z',
    updatedBy: 'bench',
    revisions: [{ revision: 1, updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: 'bench', restoredFrom: null }],
  };
}

async function insertAll(c: Collection, docs: Document[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < docs.length; i += BATCH) {
    const ops: WriteOperation<Document>[] = docs.slice(i, i + BATCH).map((document) => ({ insertOne: { document } }));
    await c.bulkWrite(ops, { ordered: false, handOver: true });
  }
  return performance.now() - started;
}

/** Median milliseconds of `reps` runs (after one warm-up), and the work of one run where counted. */
async function measure(store: MemoryDocumentStore, reps: number, run: () => Promise<unknown>): Promise<{ ms: number; work: string }> {
  const counted = store as unknown as Instrumented;
  counted.resetStats?.();
  await run();
  const stats = counted.stats?.();
  const work = stats ? `${stats.docsExamined} docs, ${stats.keysExamined} keys` : 'n/a';
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, work };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));

async function main(): Promise<void> {
  console.log(`node ${process.version}; median of repeated runs per query; inserts and first queries: median of 3 fresh stores`);
  const rows: string[][] = [['N', 'what', 'ms', 'examined']];
  // Warm-up (JIT) on a throwaway store, so that the 1k row measures steady state.
  const warm = new MemoryDocumentStore().collection('auditLogs');
  await warm.createIndexes(AUDIT_LOG_INDEXES);
  await insertAll(
    warm,
    Array.from({ length: 5000 }, (_, i) => auditEntry(i)),
  );
  await warm.find({ resourceType: 'NOPE', tenantId: TENANT }, { sort: { position: -1 }, limit: 51 });
  for (let round = 0; round < 20; round++) {
    await insertAll(
      warm,
      Array.from({ length: 50 }, (_, i) => auditEntry(10_000 + round * 50 + i)),
    );
    await warm.find({ resourceType: 'NOPE', tenantId: TENANT }, { sort: { position: -1 }, limit: 51 });
  }
  for (const n of SIZES) {
    const reps = n <= 1000 ? 200 : n <= 20000 ? 30 : 10;

    // Inserts (the audit projection's write path) on a fresh store, then the
    // first query, which pays for indexes brought up to date lazily: the
    // median of 3 fresh stores (the last one is kept for the queries).
    const inserts: number[] = [];
    const firsts: number[] = [];
    let store = new MemoryDocumentStore();
    let audit = store.collection('auditLogs');
    const auditQuery = async (filter: Filter, options: FindOptions): Promise<unknown> => audit.find(filter, options);
    for (let trial = 0; trial < 3; trial++) {
      store = new MemoryDocumentStore();
      audit = store.collection('auditLogs');
      await audit.createIndexes(AUDIT_LOG_INDEXES);
      const entries = Array.from({ length: n }, (_, i) => auditEntry(i));
      // One tenant of many: another tenant's entries sit in the same indexes.
      const others = Array.from({ length: Math.floor(n / 10) }, (_, i) => ({ ...auditEntry(n + i), tenantId: 'other' }));
      inserts.push(await insertAll(audit, entries));
      await insertAll(audit, others);
      const started = performance.now();
      await auditQuery({ resourceType: 'NOPE', tenantId: TENANT }, { sort: { position: -1 }, limit: 51 });
      firsts.push(performance.now() - started);
    }
    const insertMs = median(inserts);
    rows.push([String(n), `insert ${n} audit entries (7 indexes)`, fmt(insertMs), `${((insertMs * 1000) / n).toFixed(1)} µs/doc`]);
    rows.push([String(n), `audit: first query after the inserts (+${n / 10} other)`, fmt(median(firsts)), '']);
    // Live projection batches (50 entries each), each followed by a query: median of 10 rounds.
    const rounds: number[] = [];
    for (let round = 0; round < 10; round++) {
      const live = Array.from({ length: 50 }, (_, i) => auditEntry(2 * n + round * 50 + i));
      const started = performance.now();
      await insertAll(audit, live);
      await auditQuery({ resourceType: 'NOPE', tenantId: TENANT }, { sort: { position: -1 }, limit: 51 });
      rounds.push(performance.now() - started);
    }
    rows.push([String(n), 'audit: insert 50 more, then query (median of 10)', fmt(median(rounds)), '']);

    const noMatch = await measure(store, reps, () =>
      auditQuery({ resourceType: 'NOPE', tenantId: TENANT }, { sort: { position: -1 }, limit: 51 }),
    );
    rows.push([String(n), 'audit: no-match filter, sort position -1, limit 51', fmt(noMatch.ms), noMatch.work]);
    const noMatchCount = await measure(store, reps, () => audit.countDocuments({ resourceType: 'NOPE', tenantId: TENANT }));
    rows.push([String(n), 'audit: countDocuments of the no-match filter', fmt(noMatchCount.ms), noMatchCount.work]);
    const firstPage = await measure(store, reps, () => auditQuery({ tenantId: TENANT }, { sort: { position: -1 }, limit: 51 }));
    rows.push([String(n), 'audit: first page, sort position -1, limit 51', fmt(firstPage.ms), firstPage.work]);

    // The flows page.
    const flows = store.collection('flows');
    await flows.createIndexes(FLOW_INDEXES);
    await insertAll(
      flows,
      Array.from({ length: n }, (_, i) => flow(i)),
    );
    const pageFilter = { $and: [{ deleted: false }], tenantId: TENANT };
    const page = await measure(store, reps, () => flows.find(pageFilter, { sort: { namespace: 1, id: 1 }, limit: 201 }));
    rows.push([String(n), 'flows page: find, sort namespace,id, limit 201', fmt(page.ms), page.work]);
    const count = await measure(store, reps, () => flows.countDocuments(pageFilter));
    rows.push([String(n), 'flows page: countDocuments', fmt(count.ms), count.work]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '));
}

await main();
