/**
 * The SQLite store's parsed-document cache (src/readmodels/sqlite/document-cache.ts):
 * reads share deep-frozen documents keyed by their stored text. Counted, not
 * timed: how many documents a read parses, what the cache keeps, and that
 * no change (this store's, another connection's, a rolled back one) is ever
 * answered from a stale entry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDocumentStore } from '../../src/readmodels/sqlite.js';
import { tenantScoped } from '../../src/readmodels/tenant-scoped.js';
import { entryBytes } from '../../src/readmodels/sqlite/document-cache.js';

const dirs: string[] = [];
const stores: SqliteDocumentStore[] = [];

function open(options: Parameters<typeof SqliteDocumentStore.open>[1] = {}, dir?: string): SqliteDocumentStore {
  const at = dir ?? mkdtempSync(join(tmpdir(), 'tenantry-doc-cache-'));
  if (!dir) dirs.push(at);
  const store = SqliteDocumentStore.open(join(at, 'readmodels.sqlite'), options);
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function seedFlows(store: SqliteDocumentStore, n: number): Promise<void> {
  const flows = store.collection('flows');
  await flows.createIndexes([{ keys: { namespace: 1, id: 1 }, name: 'namespace_id' }]);
  await flows.bulkWrite(
    Array.from({ length: n }, (_, i) => ({
      insertOne: {
        document: { _id: `f${String(i).padStart(5, '0')}`, namespace: `team${i % 10}`, id: `flow${i}`, tasks: [{ id: 'a' }], n: i },
      },
    })),
  );
}

describe('SQLite document cache: reads parse each stored text once', () => {
  it('reading the same page again parses nothing, however often (parsed documents do not grow with repeats)', async () => {
    const store = open();
    await seedFlows(store, 500);
    const flows = store.collection('flows');
    const page = () => flows.find({}, { sort: { namespace: 1, id: 1 }, limit: 50 });
    const first = await page();
    const afterFirst = store.cache.stats();
    expect(afterFirst.parsed).toBe(50);
    for (const repeats of [1, 10, 100]) {
      for (let i = 0; i < repeats; i++) expect(await page()).toEqual(first);
    }
    const after = store.cache.stats();
    expect(after.parsed).toBe(50);
    expect(after.hits - afterFirst.hits).toBe(111 * 50);
    // Lookups by id (a DataLoader batch, findOne) share the same documents.
    const byIds = await flows.find({ _id: { $in: first.map((d) => d._id) } });
    expect(byIds.length).toBe(50);
    expect(await flows.findOne({ _id: first[0]!._id })).toBe(first[0]);
    expect(store.cache.stats().parsed).toBe(50);
  });

  it('keeps only documents a read returns: candidates the filter rejects, and matches the sort leaves off the page, are parsed but not kept', async () => {
    const store = open();
    await seedFlows(store, 300);
    const flows = store.collection('flows');
    // A filter no index serves: every document is a candidate, 30 match.
    expect((await flows.find({ n: { $mod: [10, 3] } })).length).toBe(30);
    expect(store.cache.stats()).toMatchObject({ parsed: 300, entries: 30 });
    // A sort no index serves: all 300 are matches, ten are returned.
    const top = await flows.find({ n: { $gte: 0 } }, { sort: { n: -1 }, limit: 10 });
    expect(top.map((d) => d['n'])).toEqual([299, 298, 297, 296, 295, 294, 293, 292, 291, 290]);
    expect(store.cache.stats().entries).toBe(30 + 10 - top.filter((d) => (d['n'] as number) % 10 === 3).length);
  });

  it('stays within its budget: reading many more documents than fit keeps the estimated bytes under the maximum', async () => {
    const budget = 20 * entryBytes(JSON.stringify({ _id: 'f00000', namespace: 'team0', id: 'flow0', tasks: [{ id: 'a' }], n: 0 }));
    const store = open({ documentCacheBytes: budget });
    await seedFlows(store, 400);
    const flows = store.collection('flows');
    for (let i = 0; i < 400; i += 10) await flows.find({ n: { $gte: i, $lt: i + 10 } });
    const stats = store.cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(budget);
    expect(stats.entries).toBeGreaterThan(0);
    expect(stats.entries).toBeLessThanOrEqual(20);
  });

  it('with a budget of 0 keeps nothing and every read parses again; documents are read-only all the same', async () => {
    const store = open({ documentCacheBytes: 0 });
    await seedFlows(store, 20);
    const flows = store.collection('flows');
    await flows.find({});
    await flows.find({});
    expect(store.cache.stats()).toMatchObject({ parsed: 40, hits: 0, entries: 0 });
    const [doc] = await flows.find({});
    expect(Object.isFrozen(doc)).toBe(true);
  });
});

describe('SQLite document cache: never stale', () => {
  it("this store's own updates, replacements and deletes are read at once", async () => {
    const store = open();
    await seedFlows(store, 10);
    const flows = store.collection('flows');
    expect((await flows.findOne({ _id: 'f00001' }))?.['n']).toBe(1);
    await flows.updateOne({ _id: 'f00001' }, { $set: { n: 2 } });
    expect((await flows.findOne({ _id: 'f00001' }))?.['n']).toBe(2);
    // Back to the very text read first: the first entry answers, and it is right.
    await flows.updateOne({ _id: 'f00001' }, { $set: { n: 1 } });
    expect((await flows.findOne({ _id: 'f00001' }))?.['n']).toBe(1);
    await flows.replaceOne({ _id: 'f00001' }, { _id: 'f00001', namespace: 'team1', id: 'flow1', n: 7 });
    expect(await flows.findOne({ _id: 'f00001' })).toEqual({ _id: 'f00001', namespace: 'team1', id: 'flow1', n: 7 });
    await flows.deleteOne({ _id: 'f00001' });
    expect(await flows.findOne({ _id: 'f00001' })).toBeNull();
    expect((await flows.find({ namespace: 'team1' })).length).toBe(0);
  });

  it("another connection's writes to the file (another process: a CLI rebuild, a projector) are read at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-doc-cache-'));
    dirs.push(dir);
    const gateway = open({}, dir);
    const other = open({}, dir);
    await seedFlows(gateway, 10);
    const page = () => gateway.collection('flows').find({ namespace: 'team2' });
    expect((await page()).map((d) => d['n'])).toEqual([2]);
    // Same length, same keys: only the stored text tells the two apart.
    await other.collection('flows').updateOne({ _id: 'f00002' }, { $set: { n: 3 } });
    expect((await page()).map((d) => d['n'])).toEqual([3]);
    await other.collection('flows').insertOne({ _id: 'f00099', namespace: 'team2', id: 'flow99', n: 99 });
    expect((await page()).map((d) => d['n'])).toEqual([3, 99]);
  });

  it('a rolled back transaction leaves nothing behind: reads inside it saw its writes, reads after it the stored documents', async () => {
    const store = open();
    await seedFlows(store, 10);
    const flows = store.collection('flows');
    await expect(
      store.withTransaction(async () => {
        await flows.updateOne({ _id: 'f00004' }, { $set: { n: 40 } });
        expect((await flows.findOne({ _id: 'f00004' }))?.['n']).toBe(40);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await flows.findOne({ _id: 'f00004' }))?.['n']).toBe(4);
  });
});

describe('SQLite document cache: shared documents are read-only (adversarial)', () => {
  it("a caller that changes what it read cannot change what any other caller reads, in its tenant or another's", async () => {
    const store = open();
    const acme = tenantScoped(store.collection('secrets_meta'), 'acme');
    const globex = tenantScoped(store.collection('secrets_meta'), 'globex');
    await acme.insertOne({ _id: 'acme:db', key: 'db', allowed: ['ns1'], nested: { owner: 'acme' } });
    await globex.insertOne({ _id: 'globex:db', key: 'db', allowed: ['ns9'], nested: { owner: 'globex' } });
    const mine = (await acme.findOne({ key: 'db' }))!;
    expect(() => ((mine as Record<string, unknown>)['tenantId'] = 'globex')).toThrow(TypeError);
    expect(() => (mine['allowed'] as string[]).push('ns9')).toThrow(TypeError);
    expect(() => ((mine['nested'] as Record<string, unknown>)['owner'] = 'globex')).toThrow(TypeError);
    expect(() => delete (mine as Record<string, unknown>)['key']).toThrow(TypeError);
    expect(await acme.findOne({ key: 'db' })).toEqual({
      _id: 'acme:db',
      tenantId: 'acme',
      key: 'db',
      allowed: ['ns1'],
      nested: { owner: 'acme' },
    });
    expect(await globex.findOne({ key: 'db' })).toEqual({
      _id: 'globex:db',
      tenantId: 'globex',
      key: 'db',
      allowed: ['ns9'],
      nested: { owner: 'globex' },
    });
    // A projection is the caller's own copy.
    const projected = (await acme.findOne({ key: 'db' }, { projection: { allowed: 1 } }))!;
    (projected['allowed'] as string[]).push('ns2');
    expect((await acme.findOne({ key: 'db' }))?.['allowed']).toEqual(['ns1']);
  });

  it('streams hand out fresh documents (an export of millions does not churn the cache)', async () => {
    const store = open();
    await seedFlows(store, 30);
    const before = store.cache.stats();
    let n = 0;
    for await (const doc of store.collection('flows').stream({})) {
      expect(Object.isFrozen(doc)).toBe(false);
      n++;
    }
    expect(n).toBe(30);
    expect(store.cache.stats().entries).toBe(before.entries);
  });
});

describe('SQLite document cache: deep documents', () => {
  it('a document nested deeper than the call stack allows is read, frozen to its last level', async () => {
    const store = open();
    const collection = store.collection('deep');
    await collection.insertOne({ _id: 'placeholder' });
    // Written as text straight into the collection's table (JSON.stringify of such a value overflows the stack too).
    const depth = 200_000;
    const raw = new Database(store.path);
    try {
      const { id } = raw.prepare("SELECT id FROM tenantry_collections WHERE name = 'deep'").get() as { id: number };
      raw
        .prepare(`INSERT INTO c${id} (k, doc) VALUES (?, ?)`)
        .run('deep', `{"_id":"deep","v":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
    } finally {
      raw.close();
    }
    const doc = (await collection.findOne({ _id: 'deep' }))!;
    let level: unknown = doc['v'];
    for (let i = 0; i < depth - 1; i++) level = (level as { a: unknown }).a;
    expect(Object.isFrozen(level)).toBe(true);
    expect((level as { a: number }).a).toBe(1);
  });
});
