/**
 * THE DocumentStore contract: every adapter (memory, mongodb, sqlite) runs exactly
 * these tests. Each test works in collections named with a random prefix, so
 * several test files (or runs) can share one database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DuplicateKeyError,
  inTransaction,
  transactionsOf,
  type Collection,
  type Document,
  type DocumentStore,
  type WriteOperation,
} from '../../src/readmodels/port.js';

/** Known gaps of a particular server, declared by the factory (e.g. FerretDB 1.x). */
export interface ContractLimitations {
  /** `partialFilterExpression` is not supported: createIndexes must then reject with a clear error. */
  partialIndexes?: false;
  /** The server does not say which index a duplicate key violated (DuplicateKeyError.index is a placeholder). */
  duplicateKeyIndexName?: false;
  /** A unique index lets several documents lack the field (MongoDB indexes a missing field as null). */
  uniqueIndexMissingAsNull?: false;
}

export interface ContractSubject {
  store: DocumentStore;
  cleanup: () => Promise<void>;
  limitations?: ContractLimitations;
}

type Person = Document & {
  name: string;
  age: number;
  tags?: string[];
  team?: { name: string; lead?: boolean };
  joined: string;
  score?: number;
  nickname?: string | null;
};

const PEOPLE: Person[] = [
  {
    _id: 'a',
    name: 'alice',
    age: 30,
    tags: ['x', 'y'],
    team: { name: 'core', lead: true },
    joined: '2024-01-15T10:00:00.000Z',
    score: 1.5,
  },
  { _id: 'b', name: 'bob', age: 25, tags: ['y'], team: { name: 'edge', lead: false }, joined: '2024-03-01T00:00:00.000Z' },
  { _id: 'c', name: 'carol', age: 35, tags: [], team: { name: 'core', lead: false }, joined: '2023-12-31T23:59:59.999Z', nickname: null },
  { _id: 'd', name: 'dave', age: 40, team: { name: 'ops' }, joined: '2024-02-10T12:00:00.000Z', nickname: 'D' },
  { _id: 'e', name: 'alfred', age: 25, tags: ['z'], joined: '2024-01-01T00:00:00.000Z' },
];

const ids = (docs: readonly { _id: string }[]): string[] => docs.map((d) => d._id);
const sortedIds = (docs: readonly { _id: string }[]): string[] => ids(docs).sort();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/**
 * Changes a document a read returned. A store may hand out read-only
 * (frozen) documents, shared between readers (the SQLite store does): the
 * change is then refused with a TypeError, which is as good as a copy.
 */
function tryToChange(change: () => unknown): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

export function describeDocumentStoreContract(adapterName: string, factory: () => Promise<ContractSubject>): void {
  describe(`DocumentStore contract: ${adapterName}`, () => {
    let store: DocumentStore;
    let cleanup: () => Promise<void>;
    let limits: ContractLimitations;
    let prefix: string;

    beforeEach(async () => {
      const subject = await factory();
      store = subject.store;
      cleanup = subject.cleanup;
      limits = subject.limitations ?? {};
      prefix = `ct_${Math.random().toString(36).slice(2, 10)}_`;
    });

    afterEach(async () => {
      for (const name of await store.listCollections()) {
        if (name.startsWith(prefix)) await store.collection(name).drop();
      }
      await cleanup();
    });

    const coll = <T extends Document = Document>(name = 'main'): Collection<T> => store.collection<T>(prefix + name);

    async function people(): Promise<Collection<Person>> {
      const c = coll<Person>('people');
      const r = await c.bulkWrite(PEOPLE.map((document) => ({ insertOne: { document } })));
      expect(r.insertedCount).toBe(PEOPLE.length);
      return c;
    }

    async function expectDuplicate(promise: Promise<unknown>, collection: string, index: string): Promise<void> {
      const err = await rejection(promise);
      expect(err).toBeInstanceOf(DuplicateKeyError);
      const dup = err as DuplicateKeyError;
      expect(dup.name).toBe('DuplicateKeyError');
      expect(dup.collection).toBe(collection);
      if (limits.duplicateKeyIndexName === false) expect(typeof dup.index).toBe('string');
      else expect(dup.index).toBe(index);
    }

    describe('basics', () => {
      it('ping resolves and kind is declared', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        expect(['memory', 'mongodb', 'sqlite']).toContain(store.kind);
      });

      it('collection handles carry their name', () => {
        expect(coll('x').name).toBe(`${prefix}x`);
      });

      it('insertOne then findOne returns an equal document; missing gives null', async () => {
        const c = coll();
        await c.insertOne({ _id: 'k1', a: 1, nested: { b: 'two', list: [1, 2, { c: true }] }, at: '2024-01-01T00:00:00.000Z' });
        expect(await c.findOne({ _id: 'k1' })).toEqual({
          _id: 'k1',
          a: 1,
          nested: { b: 'two', list: [1, 2, { c: true }] },
          at: '2024-01-01T00:00:00.000Z',
        });
        expect(await c.findOne({ _id: 'nope' })).toBeNull();
        expect(await coll('never-written').findOne({})).toBeNull();
        expect(await coll('never-written').find({})).toEqual([]);
        expect(await coll('never-written').countDocuments({})).toBe(0);
      });

      it('_id is always unique', async () => {
        const c = coll();
        await c.insertOne({ _id: 'k1', v: 1 });
        await expectDuplicate(c.insertOne({ _id: 'k1', v: 2 }), c.name, '_id_');
        expect(await c.findOne({ _id: 'k1' })).toEqual({ _id: 'k1', v: 1 });
        expect(await c.countDocuments({})).toBe(1);
      });

      it('returned documents are not live references: changing one (where the store allows it) never changes what is stored', async () => {
        const c = coll();
        const input = { _id: 'k1', a: 1, nested: { b: 1 }, list: [1, 2] };
        await c.insertOne(input);
        input.a = 99;
        input.nested.b = 99;
        input.list.push(99);

        const one = (await c.findOne({ _id: 'k1' }))!;
        tryToChange(() => (one['a'] = 2));
        tryToChange(() => ((one['nested'] as { b: number }).b = 2));
        tryToChange(() => (one['list'] as number[]).push(3));
        const [listed] = await c.find({});
        tryToChange(() => ((listed!['nested'] as { b: number }).b = 3));
        for await (const streamed of c.stream({})) tryToChange(() => ((streamed['list'] as number[]).length = 0));

        const setValue = { deep: { x: 1 } };
        await c.updateOne({ _id: 'k1' }, { $set: { obj: setValue } });
        setValue.deep.x = 42;

        expect(await c.findOne({ _id: 'k1' })).toEqual({ _id: 'k1', a: 1, nested: { b: 1 }, list: [1, 2], obj: { deep: { x: 1 } } });
      });
    });

    describe('filters', () => {
      it('implicit and explicit $eq, $ne', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ name: 'bob' }))).toEqual(['b']);
        expect(sortedIds(await c.find({ age: { $eq: 25 } }))).toEqual(['b', 'e']);
        expect(sortedIds(await c.find({ age: { $ne: 25 } }))).toEqual(['a', 'c', 'd']);
        expect(sortedIds(await c.find({ name: 'bob', age: 26 }))).toEqual([]);
      });

      it('$in and $nin ($nin includes documents without the field)', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ name: { $in: ['bob', 'dave', 'zed'] } }))).toEqual(['b', 'd']);
        expect(sortedIds(await c.find({ age: { $nin: [25, 30] } }))).toEqual(['c', 'd']);
        expect(sortedIds(await c.find({ nickname: { $nin: ['D'] } }))).toEqual(['a', 'b', 'c', 'e']);
      });

      it('$gt/$gte/$lt/$lte on numbers', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ age: { $gt: 30 } }))).toEqual(['c', 'd']);
        expect(sortedIds(await c.find({ age: { $gte: 30 } }))).toEqual(['a', 'c', 'd']);
        expect(sortedIds(await c.find({ age: { $lt: 30 } }))).toEqual(['b', 'e']);
        expect(sortedIds(await c.find({ age: { $gt: 25, $lte: 35 } }))).toEqual(['a', 'c']);
        expect(sortedIds(await c.find({ score: { $gt: 1 } }))).toEqual(['a']);
        expect(sortedIds(await c.find({ score: { $lt: 100 } }))).toEqual(['a']);
      });

      it('$gt/$lt on ISO-8601 strings', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ joined: { $gte: '2024-01-01T00:00:00.000Z', $lt: '2024-02-01T00:00:00.000Z' } }))).toEqual([
          'a',
          'e',
        ]);
        expect(sortedIds(await c.find({ joined: { $lt: '2024-01-01T00:00:00.000Z' } }))).toEqual(['c']);
        expect(sortedIds(await c.find({ joined: { $gt: '2024-02-10T12:00:00.000Z' } }))).toEqual(['b']);
      });

      it('numbers and strings never compare with each other', async () => {
        const c = coll();
        await c.insertOne({ _id: 'n', v: 5 });
        await c.insertOne({ _id: 's', v: '5' });
        expect(sortedIds(await c.find({ v: { $gt: 1 } }))).toEqual(['n']);
        expect(sortedIds(await c.find({ v: { $gt: '1' } }))).toEqual(['s']);
        expect(sortedIds(await c.find({ v: 5 }))).toEqual(['n']);
        expect(sortedIds(await c.find({ v: '5' }))).toEqual(['s']);
      });

      it('$regex with an anchored prefix', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ name: { $regex: '^al' } }))).toEqual(['a', 'e']);
        expect(sortedIds(await c.find({ name: { $regex: '^AL', $options: 'i' } }))).toEqual(['a', 'e']);
        expect(sortedIds(await c.find({ name: /^ca/ }))).toEqual(['c']);
        expect(sortedIds(await c.find({ name: { $regex: '^a\\.' } }))).toEqual([]);
      });

      it('$exists, and null matching both null and missing', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ nickname: { $exists: true } }))).toEqual(['c', 'd']);
        expect(sortedIds(await c.find({ nickname: { $exists: false } }))).toEqual(['a', 'b', 'e']);
        expect(sortedIds(await c.find({ nickname: null }))).toEqual(['a', 'b', 'c', 'e']);
        expect(sortedIds(await c.find({ 'team.lead': { $exists: true } }))).toEqual(['a', 'b', 'c']);
      });

      it('$or and $and', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ $or: [{ name: 'bob' }, { age: { $gte: 40 } }] }))).toEqual(['b', 'd']);
        expect(sortedIds(await c.find({ $and: [{ age: { $gte: 25 } }, { age: { $lt: 35 } }] }))).toEqual(['a', 'b', 'e']);
        expect(sortedIds(await c.find({ age: 25, $or: [{ name: 'bob' }, { name: 'carol' }] }))).toEqual(['b']);
        expect(
          sortedIds(
            await c.find({ $and: [{ $or: [{ age: 25 }, { age: 35 }] }, { $or: [{ name: { $regex: '^c' } }, { name: 'alfred' }] }] }),
          ),
        ).toEqual(['c', 'e']);
      });

      it('nested fields with dotted paths', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ 'team.name': 'core' }))).toEqual(['a', 'c']);
        expect(sortedIds(await c.find({ 'team.lead': true }))).toEqual(['a']);
        expect(sortedIds(await c.find({ 'team.name': { $in: ['edge', 'ops'] } }))).toEqual(['b', 'd']);
        expect(sortedIds(await c.find({ team: { name: 'ops' } }))).toEqual(['d']);
      });

      it('array membership', async () => {
        const c = await people();
        expect(sortedIds(await c.find({ tags: 'y' }))).toEqual(['a', 'b']);
        expect(sortedIds(await c.find({ tags: { $in: ['x', 'z'] } }))).toEqual(['a', 'e']);
        expect(sortedIds(await c.find({ tags: { $nin: ['y'] } }))).toEqual(['c', 'd', 'e']);
        expect(sortedIds(await c.find({ tags: ['y'] }))).toEqual(['b']);
        const items = coll('items');
        await items.insertOne({
          _id: 'i1',
          lines: [
            { sku: 'p1', qty: 1 },
            { sku: 'p2', qty: 5 },
          ],
        });
        await items.insertOne({ _id: 'i2', lines: [{ sku: 'p3', qty: 2 }] });
        expect(sortedIds(await items.find({ 'lines.sku': 'p2' }))).toEqual(['i1']);
        expect(sortedIds(await items.find({ 'lines.qty': { $gt: 1 } }))).toEqual(['i1', 'i2']);
      });

      it('_id equality, $in and guards combine with other conditions', async () => {
        const c = await people();
        expect(ids(await c.find({ _id: { $in: ['c', 'a', 'zz'] } }, { sort: { _id: 1 } }))).toEqual(['a', 'c']);
        expect(sortedIds(await c.find({ _id: { $in: ['a', 'b', 'c'] }, 'team.name': 'core' }))).toEqual(['a', 'c']);
        expect(await c.find({ _id: 'a', age: { $lt: 30 } })).toEqual([]);
        expect(sortedIds(await c.find({ _id: 'a', age: { $lte: 30 } }))).toEqual(['a']);
        expect(sortedIds(await c.find({ $and: [{ _id: 'b' }, { name: 'bob' }] }))).toEqual(['b']);
        expect(sortedIds(await c.find({ _id: { $eq: 'd' } }))).toEqual(['d']);
        expect(sortedIds(await c.find({ _id: { $gt: 'c' } }))).toEqual(['d', 'e']);
      });
    });

    describe('sort, skip, limit, projection', () => {
      it('sorts on several keys, ascending and descending', async () => {
        const c = await people();
        expect(ids(await c.find({}, { sort: { age: 1, name: -1 } }))).toEqual(['b', 'e', 'a', 'c', 'd']);
        expect(ids(await c.find({}, { sort: { age: -1, name: 1 } }))).toEqual(['d', 'c', 'a', 'e', 'b']);
        expect(ids(await c.find({}, { sort: { name: 1 } }))).toEqual(['e', 'a', 'b', 'c', 'd']);
        expect(ids(await c.find({}, { sort: { joined: -1 } }))).toEqual(['b', 'd', 'a', 'e', 'c']);
        expect(ids(await c.find({}, { sort: { 'team.name': 1, _id: -1 } }))).toEqual(['e', 'c', 'a', 'b', 'd']);
      });

      it('sorts missing values first ascending, strings by code point', async () => {
        const c = await people();
        expect(ids(await c.find({}, { sort: { score: 1, _id: 1 } }))).toEqual(['b', 'c', 'd', 'e', 'a']);
        expect(ids(await c.find({}, { sort: { score: -1, _id: 1 } }))).toEqual(['a', 'b', 'c', 'd', 'e']);
        const s = coll('strings');
        for (const [i, v] of ['b', 'B', 'a', 'A', 'a10', 'a9'].entries()) await s.insertOne({ _id: `s${i}`, v });
        expect((await s.find({}, { sort: { v: 1 } })).map((d) => d['v'])).toEqual(['A', 'B', 'a', 'a10', 'a9', 'b']);
      });

      it('sorts numbers numerically, not lexically', async () => {
        const c = coll();
        for (const n of [10, 9, 100, -1, 2.5, 0]) await c.insertOne({ _id: `n${n}`, n });
        expect((await c.find({}, { sort: { n: 1 } })).map((d) => d['n'])).toEqual([-1, 0, 2.5, 9, 10, 100]);
        expect((await c.find({}, { sort: { n: -1 } })).map((d) => d['n'])).toEqual([100, 10, 9, 2.5, 0, -1]);
      });

      it('skip and limit apply after the sort', async () => {
        const c = await people();
        expect(ids(await c.find({}, { sort: { age: 1, _id: 1 }, skip: 1, limit: 2 }))).toEqual(['e', 'a']);
        expect(ids(await c.find({}, { sort: { age: 1, _id: 1 }, skip: 4, limit: 10 }))).toEqual(['d']);
        expect(await c.find({}, { sort: { age: 1 }, skip: 10 })).toEqual([]);
        expect(await c.find({}, { limit: 3 })).toHaveLength(3);
        expect(await c.find({ age: 25 }, { limit: 1 })).toHaveLength(1);
        expect((await c.findOne({}, { sort: { age: -1 } }))?._id).toBe('d');
        expect((await c.findOne({ age: 25 }, { sort: { name: 1 } }))?._id).toBe('e');
      });

      it('projects by inclusion and exclusion, including dotted paths', async () => {
        const c = await people();
        expect(await c.findOne({ _id: 'a' }, { projection: { name: 1 } })).toEqual({ _id: 'a', name: 'alice' });
        expect(await c.findOne({ _id: 'a' }, { projection: { name: 1, _id: 0 } })).toEqual({ name: 'alice' });
        expect(await c.findOne({ _id: 'a' }, { projection: { tags: 0, team: 0, joined: 0, score: 0 } })).toEqual({
          _id: 'a',
          name: 'alice',
          age: 30,
        });
        expect(await c.findOne({ _id: 'a' }, { projection: { 'team.name': 1 } })).toEqual({ _id: 'a', team: { name: 'core' } });
        expect(await c.find({ age: 25 }, { projection: { age: 1 }, sort: { _id: 1 } })).toEqual([
          { _id: 'b', age: 25 },
          { _id: 'e', age: 25 },
        ]);
      });
    });

    describe('updates', () => {
      it('$set on top-level and dotted paths; an unchanged value is matched but not modified', async () => {
        const c = coll();
        await c.insertOne({ _id: 'u', a: 1, nested: { keep: true } });
        expect(await c.updateOne({ _id: 'u' }, { $set: { a: 2, 'nested.b': 'x', 'deep.er.path': 1 } })).toEqual({
          matchedCount: 1,
          modifiedCount: 1,
          upsertedCount: 0,
        });
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', a: 2, nested: { keep: true, b: 'x' }, deep: { er: { path: 1 } } });
        expect(await c.updateOne({ _id: 'u' }, { $set: { a: 2 } })).toEqual({ matchedCount: 1, modifiedCount: 0, upsertedCount: 0 });
        expect(await c.updateOne({ _id: 'nope' }, { $set: { a: 2 } })).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0 });
        expect(await c.countDocuments({})).toBe(1);
      });

      it('$unset on top-level and dotted paths', async () => {
        const c = coll();
        await c.insertOne({ _id: 'u', a: 1, b: 2, nested: { x: 1, y: 2 } });
        await c.updateOne({ _id: 'u' }, { $unset: { a: '', 'nested.x': '' } });
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', b: 2, nested: { y: 2 } });
        expect((await c.updateOne({ _id: 'u' }, { $unset: { missing: '' } })).modifiedCount).toBe(0);
      });

      it('$inc on existing, missing and dotted fields', async () => {
        const c = coll();
        await c.insertOne({ _id: 'u', n: 1, stats: { hits: 10 } });
        await c.updateOne({ _id: 'u' }, { $inc: { n: 2, fresh: 5, 'stats.hits': -3 } });
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', n: 3, fresh: 5, stats: { hits: 7 } });
      });

      it('$push and $pull', async () => {
        const c = coll();
        await c.insertOne({ _id: 'u', list: ['a', 'b', 'a'], objs: [{ k: 1 }, { k: 2 }] });
        await c.updateOne({ _id: 'u' }, { $push: { list: 'c', fresh: 1 } });
        expect(await c.findOne({ _id: 'u' })).toMatchObject({ list: ['a', 'b', 'a', 'c'], fresh: [1] });
        await c.updateOne({ _id: 'u' }, { $pull: { list: 'a', objs: { k: 1 } } });
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', list: ['b', 'c'], objs: [{ k: 2 }], fresh: [1] });
        await c.updateOne({ _id: 'u' }, { $push: { list: { $each: ['d', 'e'] } } });
        expect((await c.findOne({ _id: 'u' }))?.['list']).toEqual(['b', 'c', 'd', 'e']);
      });

      it('$setOnInsert applies only when an upsert inserts', async () => {
        const c = coll();
        await c.updateOne({ _id: 'u' }, { $set: { v: 1 }, $setOnInsert: { createdAt: 't1' } }, { upsert: true });
        await c.updateOne({ _id: 'u' }, { $set: { v: 2 }, $setOnInsert: { createdAt: 't2' } }, { upsert: true });
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', v: 2, createdAt: 't1' });
        const r = await c.updateOne({ _id: 'u' }, { $setOnInsert: { createdAt: 't3' } }, { upsert: true });
        expect(r).toEqual({ matchedCount: 1, modifiedCount: 0, upsertedCount: 0 });
      });

      it('updateMany updates every match', async () => {
        const c = await people();
        expect(await c.updateMany({ age: 25 }, { $set: { junior: true }, $inc: { age: 1 } })).toEqual({
          matchedCount: 2,
          modifiedCount: 2,
          upsertedCount: 0,
        });
        expect(sortedIds(await c.find({ junior: true, age: 26 }))).toEqual(['b', 'e']);
        expect(await c.updateMany({ age: 1000 }, { $set: { x: 1 } })).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0 });
      });

      it('updateOne changes exactly one of several matches', async () => {
        const c = await people();
        const r = await c.updateOne({ age: 25 }, { $set: { picked: true } });
        expect(r).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
        expect(await c.countDocuments({ picked: true })).toBe(1);
      });

      it('rejects updates without operators and updates that change _id', async () => {
        const c = coll();
        await c.insertOne({ _id: 'u', v: 1 });
        await expect(c.updateOne({ _id: 'u' }, { v: 2 })).rejects.toThrow();
        await expect(c.updateOne({ _id: 'u' }, { $set: { _id: 'other' } })).rejects.toThrow();
        expect(await c.findOne({ _id: 'u' })).toEqual({ _id: 'u', v: 1 });
        expect(await c.findOne({ _id: 'other' })).toBeNull();
      });

      it('replaceOne replaces the body and keeps _id; upsert inserts', async () => {
        const c = coll();
        await c.insertOne({ _id: 'r', a: 1, b: 2 });
        expect(await c.replaceOne({ _id: 'r' }, { _id: 'r', c: 3 })).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
        expect(await c.findOne({ _id: 'r' })).toEqual({ _id: 'r', c: 3 });
        expect(await c.replaceOne({ c: 3 }, { _id: 'r', c: 4 })).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
        expect(await c.replaceOne({ _id: 'missing' }, { _id: 'missing', c: 1 })).toEqual({
          matchedCount: 0,
          modifiedCount: 0,
          upsertedCount: 0,
        });
        expect(await c.replaceOne({ _id: 'new' }, { _id: 'new', c: 5 }, { upsert: true })).toEqual({
          matchedCount: 0,
          modifiedCount: 0,
          upsertedCount: 1,
        });
        expect(await c.findOne({ _id: 'new' })).toEqual({ _id: 'new', c: 5 });
        expect(await c.countDocuments({})).toBe(2);
      });
    });

    describe('upserts', () => {
      it('copies equality fields of the filter into the inserted document', async () => {
        const c = coll();
        const r = await c.updateOne(
          { _id: 'u1', tenantId: 'acme', 'meta.kind': 'flow', age: { $gt: 1 }, $or: [{ x: 1 }, { y: 2 }] },
          { $set: { name: 'n' }, $setOnInsert: { createdBy: 'me' } },
          { upsert: true },
        );
        expect(r).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
        expect(await c.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', tenantId: 'acme', meta: { kind: 'flow' }, name: 'n', createdBy: 'me' });
      });

      it('copies $eq and $and equalities too', async () => {
        const c = coll();
        await c.updateOne({ $and: [{ _id: 'u2' }, { tenantId: { $eq: 'acme' } }] }, { $set: { v: 1 } }, { upsert: true });
        expect(await c.findOne({ _id: 'u2' })).toEqual({ _id: 'u2', tenantId: 'acme', v: 1 });
      });

      it('a position-guarded upsert applies newer writes and rejects stale ones with DuplicateKeyError', async () => {
        const c = coll();
        const apply = (pos: number, name: string) =>
          c.updateOne({ _id: 'proj', pos: { $lt: pos } }, { $set: { pos, name } }, { upsert: true });

        expect(await apply(3, 'first')).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
        expect(await apply(7, 'second')).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
        // Replays of older (or the same) positions: the guard fails, the upsert collides on _id.
        await expectDuplicate(apply(5, 'stale'), c.name, '_id_');
        await expectDuplicate(apply(7, 'replayed'), c.name, '_id_');
        expect(await c.findOne({ _id: 'proj' })).toEqual({ _id: 'proj', pos: 7, name: 'second' });

        // The same inside bulkWrite: reported, not thrown.
        const r = await c.bulkWrite(
          [
            { updateOne: { filter: { _id: 'proj', pos: { $lt: 6 } }, update: { $set: { pos: 6, name: 'stale' } }, upsert: true } },
            { updateOne: { filter: { _id: 'proj', pos: { $lt: 8 } }, update: { $set: { pos: 8, name: 'third' } }, upsert: true } },
          ],
          { ordered: false },
        );
        expect(r.duplicateKeyErrors).toEqual([0]);
        expect(r.matchedCount).toBe(1);
        expect(await c.findOne({ _id: 'proj' })).toEqual({ _id: 'proj', pos: 8, name: 'third' });
      });

      it('an upsert colliding with a secondary unique index throws DuplicateKeyError', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { slug: 1 }, name: 'slug_unique', unique: true }]);
        await c.insertOne({ _id: 'a', slug: 's' });
        await expectDuplicate(c.updateOne({ _id: 'b' }, { $set: { slug: 's' } }, { upsert: true }), c.name, 'slug_unique');
        await expectDuplicate(c.replaceOne({ _id: 'b' }, { _id: 'b', slug: 's' }, { upsert: true }), c.name, 'slug_unique');
        expect(await c.countDocuments({})).toBe(1);
      });
    });

    describe('unique indexes', () => {
      it('single-field unique index on insert, update and replace; freed values can be reused', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { email: 1 }, name: 'email_unique', unique: true }]);
        await c.insertOne({ _id: '1', email: 'a@x' });
        await c.insertOne({ _id: '2', email: 'b@x' });
        await expectDuplicate(c.insertOne({ _id: '3', email: 'a@x' }), c.name, 'email_unique');
        await expectDuplicate(c.updateOne({ _id: '2' }, { $set: { email: 'a@x' } }), c.name, 'email_unique');
        await expectDuplicate(c.replaceOne({ _id: '2' }, { _id: '2', email: 'a@x' }), c.name, 'email_unique');
        expect(await c.findOne({ _id: '2' })).toEqual({ _id: '2', email: 'b@x' });

        await c.updateOne({ _id: '1' }, { $set: { email: 'c@x' } });
        await c.insertOne({ _id: '3', email: 'a@x' });
        await c.deleteOne({ _id: '2' });
        await c.insertOne({ _id: '4', email: 'b@x' });
        expect(await c.countDocuments({})).toBe(3);
      });

      it('a document may keep its own unique value when updated', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { email: 1 }, name: 'email_unique', unique: true }]);
        await c.insertOne({ _id: '1', email: 'a@x', v: 1 });
        await c.updateOne({ _id: '1' }, { $set: { email: 'a@x', v: 2 } });
        await c.replaceOne({ _id: '1' }, { _id: '1', email: 'a@x', v: 3 });
        expect(await c.findOne({ _id: '1' })).toEqual({ _id: '1', email: 'a@x', v: 3 });
      });

      it('compound unique index', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { tenantId: 1, name: 1 }, name: 'tenant_name', unique: true }]);
        await c.insertOne({ _id: '1', tenantId: 'acme', name: 'x' });
        await c.insertOne({ _id: '2', tenantId: 'other', name: 'x' });
        await c.insertOne({ _id: '3', tenantId: 'acme', name: 'y' });
        await expectDuplicate(c.insertOne({ _id: '4', tenantId: 'acme', name: 'x' }), c.name, 'tenant_name');
        await expectDuplicate(c.updateOne({ _id: '3' }, { $set: { name: 'x' } }), c.name, 'tenant_name');
        expect(await c.countDocuments({})).toBe(3);
      });

      it('a missing field counts as null for a unique index', async (ctx) => {
        if (limits.uniqueIndexMissingAsNull === false) ctx.skip(`${adapterName}: this server does not index a missing field as null`);
        const c = coll();
        await c.createIndexes([{ keys: { code: 1 }, name: 'code_unique', unique: true }]);
        await c.insertOne({ _id: '1' });
        await expectDuplicate(c.insertOne({ _id: '2' }), c.name, 'code_unique');
        await c.insertOne({ _id: '3', code: 'c' });
      });

      it('partial unique index (partialFilterExpression)', async () => {
        const c = coll();
        const spec = {
          keys: { tenantId: 1, name: 1 } as Record<string, 1 | -1>,
          name: 'live_name',
          unique: true,
          partialFilterExpression: { deleted: false },
        };
        if (limits.partialIndexes === false) {
          await expect(c.createIndexes([spec])).rejects.toThrow(/partialFilterExpression/);
          return;
        }
        await c.createIndexes([spec]);
        await c.insertOne({ _id: '1', tenantId: 't', name: 'x', deleted: true });
        await c.insertOne({ _id: '2', tenantId: 't', name: 'x', deleted: true });
        await c.insertOne({ _id: '3', tenantId: 't', name: 'x', deleted: false });
        await expectDuplicate(c.insertOne({ _id: '4', tenantId: 't', name: 'x', deleted: false }), c.name, 'live_name');
        await expectDuplicate(c.updateOne({ _id: '1' }, { $set: { deleted: false } }), c.name, 'live_name');
        await c.updateOne({ _id: '3' }, { $set: { deleted: true } });
        await c.updateOne({ _id: '1' }, { $set: { deleted: false } });
        expect(sortedIds(await c.find({ deleted: false }))).toEqual(['1']);
      });

      it('createIndexes is idempotent and fails on existing duplicates', async () => {
        const c = coll();
        const spec = [
          { keys: { a: 1 } as Record<string, 1 | -1>, name: 'a_unique', unique: true },
          { keys: { b: -1 } as Record<string, 1 | -1>, name: 'b_plain' },
        ];
        await c.createIndexes(spec);
        await c.createIndexes(spec);
        await c.createIndexes([]);
        await c.insertOne({ _id: '1', a: 1, b: 1 });
        await c.insertOne({ _id: '2', a: 2, b: 1 });
        await expectDuplicate(c.insertOne({ _id: '3', a: 1 }), c.name, 'a_unique');

        const d = coll('dups');
        await d.insertOne({ _id: '1', v: 'same' });
        await d.insertOne({ _id: '2', v: 'same' });
        await expect(d.createIndexes([{ keys: { v: 1 }, name: 'v_unique', unique: true }])).rejects.toThrow();
        await d.insertOne({ _id: '3', v: 'same' });
      });
    });

    describe('queries answered through indexes (same results as a scan)', () => {
      it('equality on the first field of an index: scalars, arrays, sub-documents, missing and null values, after updates and deletes', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { tenant: 1, n: 1 }, name: 'tenant_n' }]);
        await c.bulkWrite([
          { insertOne: { document: { _id: '1', tenant: 'a', n: 1 } } },
          { insertOne: { document: { _id: '2', tenant: 'b', n: 2 } } },
          { insertOne: { document: { _id: '3', tenant: 'a', n: 3 } } },
          { insertOne: { document: { _id: '4', n: 4 } } },
          { insertOne: { document: { _id: '5', tenant: null, n: 5 } } },
          { insertOne: { document: { _id: '6', tenant: 1, n: 6 } } },
          { insertOne: { document: { _id: '7', tenant: '1', n: 7 } } },
        ]);
        expect(sortedIds(await c.find({ tenant: 'a' }))).toEqual(['1', '3']);
        expect(sortedIds(await c.find({ tenant: { $eq: 'a' }, n: { $gt: 1 } }))).toEqual(['3']);
        expect(sortedIds(await c.find({ $and: [{ tenant: 'a' }, { n: { $lt: 3 } }] }))).toEqual(['1']);
        expect(sortedIds(await c.find({ tenant: null }))).toEqual(['4', '5']);
        expect(sortedIds(await c.find({ tenant: 1 }))).toEqual(['6']);
        expect(sortedIds(await c.find({ tenant: '1' }))).toEqual(['7']);
        expect(await c.countDocuments({ tenant: 'zzz' })).toBe(0);

        // An array or a sub-document in the field: equality looks inside arrays.
        await c.insertOne({ _id: '8', tenant: ['a', 'c'], n: 8 });
        await c.insertOne({ _id: '9', tenant: { x: 1 }, n: 9 });
        expect(sortedIds(await c.find({ tenant: 'a' }))).toEqual(['1', '3', '8']);
        expect(sortedIds(await c.find({ tenant: 'c' }))).toEqual(['8']);
        expect(sortedIds(await c.find({ tenant: { x: 1 } }))).toEqual(['9']);
        await c.deleteMany({ _id: { $in: ['8', '9'] } });

        // Moving a document between values, and deleting.
        await c.updateOne({ _id: '1' }, { $set: { tenant: 'b' } });
        await c.replaceOne({ _id: '2' }, { _id: '2', tenant: 'a', n: 2 });
        await c.deleteOne({ _id: '3' });
        expect(sortedIds(await c.find({ tenant: 'a' }))).toEqual(['2']);
        expect(sortedIds(await c.find({ tenant: 'b' }))).toEqual(['1']);
        expect(await c.countDocuments({ tenant: 'a' })).toBe(1);
      });

      it('equality on every field of a unique compound index, arrays included', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { t: 1, k: 1 }, name: 't_k', unique: true }]);
        await c.insertOne({ _id: '1', t: 'a', k: 'x', v: 1 });
        await c.insertOne({ _id: '2', t: 'a', k: ['y', 'z'], v: 2 });
        await c.insertOne({ _id: '3', t: 'b', k: 'x', v: 3 });
        expect(ids(await c.find({ t: 'a', k: 'x' }))).toEqual(['1']);
        expect(ids(await c.find({ t: 'a', k: 'z' }))).toEqual(['2']);
        expect(ids(await c.find({ $and: [{ t: 'b' }, { k: { $eq: 'x' } }] }))).toEqual(['3']);
        expect(await c.find({ t: 'b', k: 'y' })).toEqual([]);
        // The other conditions still apply to the one candidate.
        expect(await c.find({ t: 'a', k: 'x', v: 2 })).toEqual([]);
        const updated = await c.updateOne({ t: 'a', k: 'x' }, { $set: { k: 'w' } });
        expect(updated.modifiedCount).toBe(1);
        expect(await c.findOne({ t: 'a', k: 'x' })).toBeNull();
        expect(await c.findOne({ t: 'a', k: 'w' })).toEqual({ _id: '1', t: 'a', k: 'w', v: 1 });
      });

      it('a sorted, limited page within one index value equals the same page of a scan', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { tenant: 1, ns: 1, id: 1 }, name: 'page' }]);
        const docs = [];
        for (let i = 0; i < 60; i++)
          docs.push({
            insertOne: {
              document: {
                _id: `d${i}`,
                tenant: i % 3 === 0 ? 'other' : 'mine',
                ns: `ns${i % 4}`,
                id: `f${(i * 7) % 60}`,
                gone: i % 5 === 0,
              },
            },
          });
        await c.bulkWrite(docs);
        const page = await c.find({ $and: [{ gone: false }], tenant: 'mine' }, { sort: { ns: 1, id: -1 }, skip: 2, limit: 10 });
        const all = (await c.find({})).filter((d) => d['tenant'] === 'mine' && d['gone'] === false);
        all.sort((a, b) => String(a['ns']).localeCompare(String(b['ns'])) || String(b['id']).localeCompare(String(a['id'])));
        expect(ids(page)).toEqual(ids(all.slice(2, 12)));
        expect(await c.countDocuments({ $and: [{ gone: false }], tenant: 'mine' })).toBe(all.length);
      });
    });

    describe('a small page of a long sorted list', () => {
      it('equals the same slice of the fully sorted list, ascending and descending, with skip', async () => {
        const c = coll();
        const docs = [];
        for (let i = 0; i < 400; i++)
          docs.push({ insertOne: { document: { _id: `d${i}`, grp: (i * 7919) % 13, n: (i * 104729) % 1009, s: `k${(i * 31) % 97}` } } });
        await c.bulkWrite(docs);
        const all = await c.find({});
        const by = (sort: [string, 1 | -1][]) => (a: Record<string, unknown>, b: Record<string, unknown>) => {
          for (const [field, dir] of sort) {
            const x = a[field] as number | string;
            const y = b[field] as number | string;
            if (x !== y) return (x < y ? -1 : 1) * dir;
          }
          return 0;
        };
        for (const sort of [
          [
            ['grp', 1],
            ['n', -1],
          ],
          [
            ['s', -1],
            ['n', 1],
          ],
          [['n', 1]],
        ] as [string, 1 | -1][][]) {
          const expected = [...all].sort(by(sort));
          for (const [skip, limit] of [
            [0, 5],
            [7, 10],
            [0, 1],
            [390, 20],
          ] as const) {
            const page = await c.find({}, { sort: Object.fromEntries(sort), skip, limit });
            expect(ids(page), JSON.stringify({ sort, skip, limit })).toEqual(ids(expected.slice(skip, skip + limit)));
          }
        }
      });
    });

    describe('bulkWrite with handOver', () => {
      it('stores and answers exactly as without it, duplicates reported the same way', async () => {
        const plain = coll('plain');
        const handed = coll('handed');
        await plain.createIndexes([{ keys: { k: 1 }, name: 'k_unique', unique: true }]);
        await handed.createIndexes([{ keys: { k: 1 }, name: 'k_unique', unique: true }]);
        const docs = () => [
          { _id: 'a', k: 1, nested: { x: [1, 2] } },
          { _id: 'b', k: 2, nested: { x: [] } },
          { _id: 'c', k: 1, nested: { x: [3] } },
        ];
        const r1 = await plain.bulkWrite(
          docs().map((document) => ({ insertOne: { document } })),
          { ordered: false },
        );
        const r2 = await handed.bulkWrite(
          docs().map((document) => ({ insertOne: { document } })),
          { ordered: false, handOver: true },
        );
        expect(r2).toEqual(r1);
        expect(r2.duplicateKeyErrors).toEqual([2]);
        expect(await handed.find({}, { sort: { _id: 1 } })).toEqual(await plain.find({}, { sort: { _id: 1 } }));
        // What is handed out is still no live reference: changing it does not change the stored document.
        const found = await handed.findOne({ _id: 'a' });
        tryToChange(() => (found?.['nested'] as { x: number[] }).x.push(99));
        expect(await handed.findOne({ _id: 'a' })).toEqual({ _id: 'a', k: 1, nested: { x: [1, 2] } });
      });
    });

    describe('bulkWrite', () => {
      it('applies every kind of operation and counts them', async () => {
        const c = await people();
        const ops: WriteOperation<Person>[] = [
          { insertOne: { document: { _id: 'f', name: 'fay', age: 50, joined: '2024-05-01T00:00:00.000Z' } } },
          { updateOne: { filter: { _id: 'a' }, update: { $set: { age: 31 } } } },
          { updateOne: { filter: { _id: 'g' }, update: { $set: { name: 'gus', age: 1, joined: 'x' } }, upsert: true } },
          { updateMany: { filter: { age: 25 }, update: { $set: { junior: true } } } },
          { replaceOne: { filter: { _id: 'c' }, replacement: { _id: 'c', name: 'carol2', age: 36, joined: 'y' } } },
          { deleteOne: { filter: { _id: 'd' } } },
          { deleteMany: { filter: { age: { $gte: 50 } } } },
        ];
        const r = await c.bulkWrite(ops);
        expect(r).toEqual({
          insertedCount: 1,
          matchedCount: 4,
          modifiedCount: 4,
          deletedCount: 2,
          upsertedCount: 1,
          duplicateKeyErrors: [],
        });
        expect(sortedIds(await c.find({}))).toEqual(['a', 'b', 'c', 'e', 'g']);
        expect((await c.findOne({ _id: 'c' }))?.name).toBe('carol2');
        expect((await c.findOne({ _id: 'a' }))?.age).toBe(31);
      });

      it('an empty batch is a no-op', async () => {
        expect(await coll().bulkWrite([])).toEqual({
          insertedCount: 0,
          matchedCount: 0,
          modifiedCount: 0,
          deletedCount: 0,
          upsertedCount: 0,
          duplicateKeyErrors: [],
        });
      });

      it('ordered (default) stops at the first duplicate and reports it', async () => {
        const c = coll();
        await c.insertOne({ _id: 'x' });
        const r = await c.bulkWrite([
          { insertOne: { document: { _id: 'a' } } },
          { insertOne: { document: { _id: 'x' } } },
          { insertOne: { document: { _id: 'b' } } },
        ]);
        expect(r.duplicateKeyErrors).toEqual([1]);
        expect(r.insertedCount).toBe(1);
        expect(sortedIds(await c.find({}))).toEqual(['a', 'x']);
      });

      it('unordered attempts everything and reports every duplicate', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { k: 1 }, name: 'k_unique', unique: true }]);
        await c.insertOne({ _id: 'x', k: 'kx' });
        const r = await c.bulkWrite(
          [
            { insertOne: { document: { _id: 'x', k: 'k0' } } },
            { insertOne: { document: { _id: 'a', k: 'ka' } } },
            { insertOne: { document: { _id: 'b', k: 'kx' } } },
            { updateOne: { filter: { _id: 'a' }, update: { $set: { v: 1 } } } },
            { updateOne: { filter: { _id: 'c' }, update: { $set: { k: 'ka' } }, upsert: true } },
            { insertOne: { document: { _id: 'd', k: 'kd' } } },
          ],
          { ordered: false },
        );
        expect(r.duplicateKeyErrors).toEqual([0, 2, 4]);
        expect(r.insertedCount).toBe(2);
        expect(r.matchedCount).toBe(1);
        expect(r.modifiedCount).toBe(1);
        expect(r.upsertedCount).toBe(0);
        expect(sortedIds(await c.find({}))).toEqual(['a', 'd', 'x']);
        expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', k: 'ka', v: 1 });
      });

      it('failures other than duplicate keys throw', async () => {
        const c = coll();
        await c.insertOne({ _id: 'a', name: 'text' });
        await expect(c.bulkWrite([{ updateOne: { filter: { _id: 'a' }, update: { $inc: { name: 1 } } } }])).rejects.toThrow();
        await expect(
          c.bulkWrite([{ updateOne: { filter: { _id: 'a' }, update: { $inc: { name: 1 } } } }], { ordered: false }),
        ).rejects.toThrow();
        expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'text' });
      });
    });

    describe('counting, streaming, deleting', () => {
      it('countDocuments with and without a filter', async () => {
        const c = await people();
        expect(await c.countDocuments({})).toBe(5);
        expect(await c.countDocuments({ age: 25 })).toBe(2);
        expect(await c.countDocuments({ _id: { $in: ['a', 'b', 'zz'] } })).toBe(2);
        expect(await c.countDocuments({ name: { $regex: '^z' } })).toBe(0);
      });

      it('a stream left open (a slow reader) does not freeze what other reads see', async () => {
        const c = coll();
        const docs = Array.from({ length: 600 }, (_, i) => ({ insertOne: { document: { _id: `s${String(i).padStart(3, '0')}`, n: i } } }));
        await c.bulkWrite(docs);
        const open = c.stream({}, { sort: { n: 1 } })[Symbol.asyncIterator]();
        expect((await open.next()).value).toMatchObject({ n: 0 });
        // While the stream is paused after its first document, other reads see new and removed documents.
        await c.insertOne({ _id: 'late', n: -1 });
        await c.deleteOne({ _id: 's599' });
        expect(await c.findOne({ _id: 'late' })).not.toBeNull();
        expect(await c.findOne({ _id: 's599' })).toBeNull();
        expect(await c.countDocuments({})).toBe(600);
        await open.return?.();
      });

      it('streams many documents in sort order, completely', async () => {
        const c = coll();
        const total = 5000;
        const batch: WriteOperation<Document>[] = [];
        // Inserted in a scrambled order so that the sort does real work.
        for (let i = 0; i < total; i++) {
          const n = (i * 7919) % total;
          batch.push({ insertOne: { document: { _id: `d${String(n).padStart(5, '0')}`, n, even: n % 2 === 0 } } });
        }
        for (let i = 0; i < batch.length; i += 1000) {
          expect((await c.bulkWrite(batch.slice(i, i + 1000))).insertedCount).toBe(Math.min(1000, total - i));
        }
        let expected = 0;
        for await (const doc of c.stream({}, { sort: { n: 1 } })) {
          expect(doc['n']).toBe(expected);
          expected++;
        }
        expect(expected).toBe(total);

        let seen = 0;
        let last = Infinity;
        for await (const doc of c.stream({ even: true }, { sort: { n: -1 }, projection: { n: 1 } })) {
          expect(Object.keys(doc).sort()).toEqual(['_id', 'n']);
          expect(doc['n'] as number).toBeLessThan(last);
          last = doc['n'] as number;
          seen++;
        }
        expect(seen).toBe(total / 2);

        const window: number[] = [];
        for await (const doc of c.stream({}, { sort: { _id: 1 }, skip: 10, limit: 5 })) window.push(doc['n'] as number);
        expect(window).toEqual([10, 11, 12, 13, 14]);

        // Breaking out early is fine and releases the stream.
        let taken = 0;
        for await (const _doc of c.stream({})) {
          if (++taken === 3) break;
        }
        expect(taken).toBe(3);
        expect(await c.countDocuments({})).toBe(total);
      });

      it('deleteOne removes one match, deleteMany all matches', async () => {
        const c = await people();
        expect(await c.deleteOne({ age: 25 })).toBe(1);
        expect(await c.countDocuments({ age: 25 })).toBe(1);
        expect(await c.deleteOne({ _id: 'zz' })).toBe(0);
        expect(await c.deleteMany({ 'team.name': 'core' })).toBe(2);
        expect(await c.deleteMany({ 'team.name': 'core' })).toBe(0);
        expect(await c.countDocuments({})).toBe(2);
        expect(await c.deleteMany({})).toBe(2);
        expect(await c.find({})).toEqual([]);
        expect(await coll('never-written').deleteMany({})).toBe(0);
      });
    });

    describe('collections', () => {
      const mine = async (): Promise<string[]> =>
        (await store.listCollections())
          .filter((n) => n.startsWith(prefix))
          .map((n) => n.slice(prefix.length))
          .sort();

      it('listCollections shows written collections; drop removes them and is idempotent', async () => {
        await coll('one').insertOne({ _id: '1' });
        await coll('two').createIndexes([{ keys: { a: 1 }, name: 'a_1' }]);
        coll('untouched');
        expect(await mine()).toEqual(['one', 'two']);
        await coll('one').drop();
        await coll('one').drop();
        await coll('never-existed').drop();
        expect(await mine()).toEqual(['two']);
        expect(await coll('one').find({})).toEqual([]);
      });

      it('drop removes the indexes too', async () => {
        const c = coll();
        await c.createIndexes([{ keys: { v: 1 }, name: 'v_unique', unique: true }]);
        await c.insertOne({ _id: '1', v: 1 });
        await c.drop();
        await c.insertOne({ _id: '1', v: 1 });
        await c.insertOne({ _id: '2', v: 1 });
        expect(await c.countDocuments({})).toBe(2);
      });

      it('renameCollection replaces the target, with the source indexes', async () => {
        const next = coll('next');
        const live = coll('live');
        await next.createIndexes([{ keys: { v: 1 }, name: 'v_unique', unique: true }]);
        await next.insertOne({ _id: 'n1', v: 1 });
        await next.insertOne({ _id: 'n2', v: 2 });
        await live.insertOne({ _id: 'old', v: 0 });

        await store.renameCollection(next.name, live.name);

        expect(await mine()).toEqual(['live']);
        expect(sortedIds(await live.find({}))).toEqual(['n1', 'n2']);
        expect(await next.find({})).toEqual([]);
        await expectDuplicate(live.insertOne({ _id: 'n3', v: 1 }), live.name, 'v_unique');
      });

      it('renameCollection into a new name, and from a missing source fails without touching the target', async () => {
        await coll('a').insertOne({ _id: '1' });
        await store.renameCollection(coll('a').name, coll('b').name);
        expect(await mine()).toEqual(['b']);
        expect(sortedIds(await coll('b').find({}))).toEqual(['1']);

        await expect(store.renameCollection(coll('missing').name, coll('b').name)).rejects.toThrow();
        expect(sortedIds(await coll('b').find({}))).toEqual(['1']);
      });
    });

    describe('transactions (optional capability)', () => {
      it('inTransaction returns the value and passes the error on; a throw undoes the writes only where the store has transactions', async () => {
        const docs = coll('tx');
        await docs.insertOne({ _id: 'seed', v: 0 });
        expect(
          await inTransaction(store, async () => {
            await docs.insertOne({ _id: 'a', v: 1 });
            await docs.updateOne({ _id: 'seed' }, { $set: { v: 1 } });
            return 'value';
          }),
        ).toBe('value');
        expect(sortedIds(await docs.find({ v: 1 }))).toEqual(['a', 'seed']);

        const boom = new Error('boom');
        await expect(
          inTransaction(store, async () => {
            await docs.insertOne({ _id: 'b', v: 2 });
            throw boom;
          }),
        ).rejects.toBe(boom);
        // With transactions the insert is undone; without (memory, FerretDB, a standalone mongod) it stays.
        expect(sortedIds(await docs.find({}))).toEqual(transactionsOf(store) ? ['a', 'seed'] : ['a', 'b', 'seed']);
      });
    });
  });
}
