/**
 * The memory store's ordered indexes bound the work of the read models'
 * queries: counted in documents and index keys examined (the store's
 * `stats()`), never in time. A query that matches nothing, or a page of 50 out
 * of 100,000 documents, examines O(page + log n), not O(n).
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_LOG_INDEXES } from '../../src/projections/audit/audit.projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { Collection, Document, IndexSpec, WriteOperation } from '../../src/readmodels/port.js';
import { tenantScoped } from '../../src/readmodels/tenant-scoped.js';

const N = 100_000;
const TYPES = ['FLOW', 'NAMESPACE', 'SECRET', 'ROLE', 'GROUP', 'BINDING', 'SERVICE_ACCOUNT', 'API_TOKEN'];
const FLOW_INDEXES: IndexSpec[] = [
  { keys: { tenantId: 1, namespace: 1, id: 1 }, name: 'tenant_namespace_id', unique: true },
  { keys: { tenantId: 1, namespace: 1 }, name: 'tenant_namespace' },
  { keys: { tenantId: 1, deleted: 1, namespace: 1, id: 1 }, name: 'tenant_deleted_namespace_id' },
];

/** Entry `i` (position i + 1): 9 in 10 belong to acme, the rest to other. */
function entry(i: number): Document {
  return {
    _id: `e${i}`,
    tenantId: i % 10 === 9 ? 'other' : 'acme',
    namespace: `ns${i % 20}`,
    resourceType: TYPES[i % TYPES.length]!,
    resourceId: `r${i % 700}`,
    action: i % 7 === 0 ? 'CREATE' : 'UPDATE',
    actor: { type: 'USER', id: `u${i % 30}` },
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    position: i + 1,
  };
}

function flow(i: number): Document {
  const namespace = `ns${(i * 7919) % 50}`;
  const id = `f${String(i).padStart(6, '0')}`;
  return { _id: `acme:${namespace}:${id}`, tenantId: 'acme', namespace, id, deleted: i % 10 === 3, revision: 1 };
}

async function load(c: Collection, count: number, make: (i: number) => Document): Promise<void> {
  for (let i = 0; i < count; i += 1000) {
    const ops: WriteOperation<Document>[] = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) ops.push({ insertOne: { document: make(j) } });
    await c.bulkWrite(ops, { ordered: false, handOver: true });
  }
}

const byCodePoint = (a: unknown, b: unknown): number => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0);
const positions = (docs: readonly Document[]): number[] => docs.map((d) => d['position'] as number);

describe('memory store: bounded work through ordered indexes', () => {
  const store = new MemoryDocumentStore();
  const audit = store.collection('auditLogs');
  const acme = tenantScoped(audit, 'acme');
  const flows = store.collection('flows');
  /** acme's positions, newest first. */
  const acmePositions: number[] = [];

  beforeAll(async () => {
    await audit.createIndexes(AUDIT_LOG_INDEXES);
    await load(audit, N, entry);
    for (let i = N - 1; i >= 0; i--) if (i % 10 !== 9) acmePositions.push(i + 1);
    await flows.createIndexes(FLOW_INDEXES);
    await load(flows, N, flow);
  });

  beforeEach(() => store.resetStats());

  const work = (collection = 'auditLogs') => store.stats(collection);

  it('a filter that matches nothing examines no document and no key', async () => {
    const filter = { resourceType: 'NOPE', tenantId: 'acme' };
    expect(store.explain('auditLogs', filter, { position: -1 })).toMatchObject({ plan: 'index', index: 'tenant_resource_type_position' });
    expect(await audit.find(filter, { sort: { position: -1 }, limit: 51 })).toEqual([]);
    expect(await audit.countDocuments(filter)).toBe(0);
    expect(work()).toEqual({ docsExamined: 0, keysExamined: 0 });
  });

  it('the first page of a tenant examines the page, walking the index backwards from the newest', async () => {
    expect(store.explain('auditLogs', { tenantId: 'acme' }, { position: -1 })).toMatchObject({
      index: 'tenant_position',
      order: 'forward',
    });
    const page = await acme.find({}, { sort: { position: -1 }, limit: 50 });
    expect(positions(page)).toEqual(acmePositions.slice(0, 50));
    expect(work()).toEqual({ docsExamined: 50, keysExamined: 50 });
  });

  it('the next page starts at the cursor (a range on the sort field)', async () => {
    const after = acmePositions[49]!;
    const page = await acme.find({ $and: [{}, { position: { $lt: after } }] }, { sort: { position: -1 }, limit: 51 });
    expect(positions(page)).toEqual(acmePositions.slice(50, 101));
    expect(work()).toEqual({ docsExamined: 51, keysExamined: 51 });
  });

  it('an oldest-first window is the same walk backwards, skip included', async () => {
    expect(store.explain('auditLogs', { tenantId: 'acme' }, { position: 1 })).toMatchObject({
      index: 'tenant_position',
      order: 'backward',
    });
    const page = await acme.find({}, { sort: { position: 1 }, skip: 100, limit: 50 });
    expect(positions(page)).toEqual([...acmePositions].reverse().slice(100, 150));
    expect(work()).toEqual({ docsExamined: 150, keysExamined: 150 });
  });

  it('a page filtered on an indexed field examines the page', async () => {
    const page = await acme.find({ resourceType: 'ROLE' }, { sort: { position: -1 }, limit: 50 });
    expect(page).toHaveLength(50);
    expect(page.every((d) => d['resourceType'] === 'ROLE' && d['tenantId'] === 'acme')).toBe(true);
    expect(positions(page)).toEqual(acmePositions.filter((p) => TYPES[(p - 1) % TYPES.length] === 'ROLE').slice(0, 50));
    expect(work()).toEqual({ docsExamined: 50, keysExamined: 50 });
  });

  it('an $in list merges one walk per value, in sort order', async () => {
    const filter = { tenantId: 'acme', resourceType: { $in: ['ROLE', 'FLOW', 'NOPE'] } };
    expect(store.explain('auditLogs', filter, { position: -1 })).toMatchObject({
      index: 'tenant_resource_type_position',
      ranges: 3,
      order: 'merge-forward',
    });
    const page = await audit.find(filter, { sort: { position: -1 }, limit: 50 });
    expect(positions(page)).toEqual(acmePositions.filter((p) => ['ROLE', 'FLOW'].includes(TYPES[(p - 1) % TYPES.length]!)).slice(0, 50));
    expect(work().docsExamined).toBe(50);
    expect(work().keysExamined).toBeLessThanOrEqual(50);
  });

  it('conditions the index does not hold are tested on the walked documents only', async () => {
    // actor.id has its own index, but action does not: the walk over actor u7 tests action on each entry.
    const page = await acme.find({ 'actor.id': 'u7', action: 'CREATE' }, { sort: { position: -1 }, limit: 10 });
    expect(page).toHaveLength(10);
    expect(page.every((d) => (d['actor'] as { id: string }).id === 'u7' && d['action'] === 'CREATE')).toBe(true);
    // One in 7 of u7's entries is a CREATE: about 7 walked per match, whatever the collection's size.
    expect(work().docsExamined).toBeLessThanOrEqual(80);
  });

  it('a time range narrows to its entries, which are then sorted', async () => {
    const from = new Date(Date.UTC(2026, 0, 1) + 5000 * 1000).toISOString();
    const to = new Date(Date.UTC(2026, 0, 1) + 5200 * 1000).toISOString();
    const page = await acme.find({ occurredAt: { $gte: from, $lt: to } }, { sort: { position: -1 }, limit: 50 });
    expect(positions(page)).toEqual(acmePositions.filter((p) => p > 5000 && p <= 5200).slice(0, 50));
    expect(work().docsExamined).toBe(180); // acme's entries in the range, not the collection
  });

  it('the flows page examines its 201 rows; its count visits keys only', async () => {
    const filter = { $and: [{ deleted: false }], tenantId: 'acme' };
    expect(store.explain('flows', filter, { namespace: 1, id: 1 })).toMatchObject({
      index: 'tenant_deleted_namespace_id',
      order: 'forward',
      covered: true,
    });
    const page = await flows.find(filter, { sort: { namespace: 1, id: 1 }, limit: 201 });
    expect(page).toHaveLength(201);
    const expected = Array.from({ length: N }, (_, i) => flow(i))
      .filter((f) => f['deleted'] === false)
      .sort((a, b) => byCodePoint(a['namespace'], b['namespace']) || byCodePoint(a['id'], b['id']))
      .slice(0, 201);
    expect(page.map((d) => d._id)).toEqual(expected.map((d) => d._id));
    expect(work('flows')).toEqual({ docsExamined: 201, keysExamined: 201 });
    store.resetStats();
    expect(await flows.countDocuments(filter)).toBe(N * 0.9);
    expect(work('flows')).toEqual({ docsExamined: 0, keysExamined: N * 0.9 });
  });

  it('updates and deletes move documents in the indexes; the bounds hold after them', async () => {
    const c = store.collection('moving');
    await c.createIndexes(AUDIT_LOG_INDEXES);
    await load(c, 20_000, entry);
    await c.updateMany({ tenantId: 'acme', resourceType: 'ROLE' }, { $set: { resourceType: 'GONE' } });
    await c.deleteMany({ tenantId: 'acme', resourceType: 'FLOW', position: { $gt: 10_000 } });
    await c.replaceOne({ _id: 'e0' }, { ...entry(0), resourceType: 'NOPE' });
    store.resetStats();
    expect(await c.countDocuments({ tenantId: 'acme', resourceType: 'ROLE' })).toBe(0);
    expect(positions(await c.find({ tenantId: 'acme', resourceType: 'NOPE' }))).toEqual([1]);
    const flowsLeft = await c.find({ tenantId: 'acme', resourceType: 'FLOW' }, { sort: { position: -1 }, limit: 5 });
    expect(positions(flowsLeft).every((p) => p <= 10_000)).toBe(true);
    expect(flowsLeft).toHaveLength(5);
    expect(work('moving').docsExamined).toBe(1 + 5);
  });

  it('without a usable index, a query still scans (and says so)', async () => {
    expect(store.explain('auditLogs', { action: 'CREATE' })).toEqual({ plan: 'scan' });
    expect(await audit.countDocuments({ action: 'CREATE' })).toBe(Math.ceil(N / 7));
    expect(work().docsExamined).toBe(N);
  });
});

describe('memory store: index order is BSON order', () => {
  it('mixed types, missing fields and arrays sort as without an index', async () => {
    const store = new MemoryDocumentStore();
    const indexed = store.collection('indexed');
    const plain = store.collection('plain');
    await indexed.createIndexes([{ keys: { g: 1, v: -1 }, name: 'g_v' }]);
    const values: unknown[] = [3, 'b', null, -1, 'a', new Date(5), true, 2.5, { x: 1 }, 'b.c', false, new Date(1)];
    const docs = values.map((v, i) => ({ _id: `d${i}`, g: 'x', v }));
    docs.push({ _id: 'missing', g: 'x' } as (typeof docs)[number]);
    for (const c of [indexed, plain]) await c.bulkWrite(docs.map((document) => ({ insertOne: { document } })));
    // _id breaks ties (null and missing): the index's entries end with it.
    for (const sort of [
      { v: -1 as const, _id: 1 as const },
      { v: 1 as const, _id: -1 as const },
    ]) {
      expect(store.explain('indexed', { g: 'x' }, sort)).toMatchObject({ order: sort.v === -1 ? 'forward' : 'backward' });
      const want = (await plain.find({ g: 'x' }, { sort })).map((d) => d._id);
      expect((await indexed.find({ g: 'x' }, { sort })).map((d) => d._id)).toEqual(want);
      expect((await indexed.find({ g: 'x' }, { sort, skip: 3, limit: 4 })).map((d) => d._id)).toEqual(want.slice(3, 7));
    }
    // Ranges stay within one type, like MongoDB's comparison operators.
    expect((await indexed.find({ g: 'x', v: { $gt: 0 } }, { sort: { v: 1 } })).map((d) => d['v'])).toEqual([2.5, 3]);
    expect((await indexed.find({ g: 'x', v: { $gte: 'b' } }, { sort: { v: 1 } })).map((d) => d['v'])).toEqual(['b', 'b.c']);
    expect((await indexed.find({ g: 'x', v: { $lt: new Date(3) } })).map((d) => d['v'])).toEqual([new Date(1)]);
    // An array in the field: one entry per element, found by each, returned once.
    await indexed.insertOne({ _id: 'arr', g: 'x', v: [7, 'b', -3] });
    expect((await indexed.find({ g: 'x', v: { $in: [7, 'b'] } })).map((d) => d._id).sort()).toEqual(['arr', 'd1']);
    // Each bound may be met by another element (7 > 6, -3 < 0), as in MongoDB.
    expect((await indexed.find({ g: 'x', v: { $gt: 6, $lt: 0 } })).map((d) => d._id)).toEqual(['arr']);
    expect(await indexed.countDocuments({ g: 'x', v: { $gt: 8, $lt: 0 } })).toBe(0);
  });
});

describe('memory store: warm() brings lazily kept indexes up to date in slices', () => {
  it('after a bulk load, warm() leaves nothing for the first query to index, and the answers are the same', async () => {
    const store = new MemoryDocumentStore();
    const c = store.collection('auditLogs');
    await c.createIndexes(AUDIT_LOG_INDEXES);
    await load(c, 20_000, entry);
    expect(store.pendingIndexUpdates('auditLogs')).toBe(20_000);
    await store.warm();
    expect(store.pendingIndexUpdates('auditLogs')).toBe(0);
    store.resetStats();
    const page = await c.find({ tenantId: 'acme', resourceType: 'FLOW' }, { sort: { position: -1 }, limit: 5 });
    expect(positions(page)).toEqual(
      Array.from({ length: 20_000 }, (_, i) => entry(i))
        .filter((d) => d['tenantId'] === 'acme' && d['resourceType'] === 'FLOW')
        .map((d) => d['position'] as number)
        .sort((a, b) => b - a)
        .slice(0, 5),
    );
    expect(store.stats().docsExamined).toBe(5);
    // Later writes are still seen: warm only moved the work, the next query catches up what is left.
    await c.insertOne(entry(20_000));
    expect(store.pendingIndexUpdates('auditLogs')).toBe(1);
    expect(await c.countDocuments({ position: 20_001 })).toBe(1);
  });

  it('once warmed, writes nobody reads (an audit log) are indexed in the background, not by the next query', async () => {
    const store = new MemoryDocumentStore();
    const c = store.collection('auditLogs');
    await c.createIndexes(AUDIT_LOG_INDEXES);
    await store.warm();
    try {
      await load(c, 5_000, entry);
      expect(store.pendingIndexUpdates('auditLogs')).toBe(5_000);
      // Eventually, with no query at all.
      for (const deadline = Date.now() + 20_000; store.pendingIndexUpdates('auditLogs') > 0 && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(store.pendingIndexUpdates('auditLogs')).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('memory store: a stream sorted on one field selects a page at a time', () => {
  it('returns every document once, in order, across pages and runs of equal values; stopping early examines about a page', async () => {
    const store = new MemoryDocumentStore();
    const c = store.collection('things');
    await c.createIndexes([{ keys: { tenantId: 1, group: 1 }, name: 'tenant_group' }]);
    // 3,000 documents whose sort value repeats in runs of 700 (longer than a page).
    await load(c, 3_000, (i) => ({ _id: `d${String(i).padStart(5, '0')}`, tenantId: 't', group: Math.floor(i / 700), n: i }));
    const seen: number[] = [];
    for await (const doc of c.stream({ tenantId: 't' }, { sort: { group: 1 } })) seen.push(doc['n'] as number);
    expect(seen).toHaveLength(3_000);
    expect(new Set(seen).size).toBe(3_000);
    const groups = seen.map((n) => Math.floor(n / 700));
    expect(groups).toEqual([...groups].sort((a, b) => a - b));

    const descending: number[] = [];
    for await (const doc of c.stream({ tenantId: 't', group: { $gte: 1 } }, { sort: { group: -1 } }))
      descending.push(doc['group'] as number);
    expect(descending).toHaveLength(2_300);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));

    store.resetStats();
    for await (const _doc of c.stream({ tenantId: 't', group: { $gte: 0 } }, { sort: { group: 1 } })) break;
    expect(store.stats().docsExamined).toBeLessThanOrEqual(1024);
  });
});
