/**
 * Tenant isolation of the scoped read-model handle, against the real memory
 * store (no mocks): every read sees only its tenant, no write can reach or
 * produce another tenant's document.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { DuplicateKeyError, type Collection, type Document } from '../../src/readmodels/port.js';
import { TenantScopeError, tenantScoped, type TenantCollection } from '../../src/readmodels/tenant-scoped.js';

type Thing = Document & { tenantId?: string; name: string; n?: number; tags?: string[] };

const SEED: Thing[] = [
  { _id: 'acme:1', tenantId: 'acme', name: 'one', n: 1, tags: ['shared'] },
  { _id: 'acme:2', tenantId: 'acme', name: 'two', n: 2 },
  { _id: 'other:1', tenantId: 'other', name: 'one', n: 1, tags: ['shared'] },
  { _id: 'other:2', tenantId: 'other', name: 'secret', n: 99 },
  { _id: 'instance', name: 'no tenant at all', n: 0 },
];

const sortedIds = (docs: readonly { _id: string }[]): string[] => docs.map((d) => d._id).sort();

describe('tenantScoped', () => {
  let raw: Collection<Thing>;
  let acme: TenantCollection<Thing>;

  beforeEach(async () => {
    const store = new MemoryDocumentStore();
    raw = store.collection<Thing>('things');
    await raw.bulkWrite(SEED.map((document) => ({ insertOne: { document } })));
    acme = tenantScoped(raw, 'acme');
  });

  /** Everything outside acme, exactly as seeded. */
  async function othersUntouched(): Promise<void> {
    expect(await raw.find({ tenantId: { $ne: 'acme' } }, { sort: { _id: 1 } })).toEqual(
      SEED.filter((d) => d.tenantId !== 'acme').sort((a, b) => (a._id < b._id ? -1 : 1)),
    );
  }

  describe('reads', () => {
    it('see only the tenant’s documents', async () => {
      expect(sortedIds(await acme.find({}))).toEqual(['acme:1', 'acme:2']);
      expect(await acme.countDocuments({})).toBe(2);
      expect(sortedIds(await acme.find({ name: 'one' }))).toEqual(['acme:1']);
      expect(await acme.findOne({ _id: 'other:1' })).toBeNull();
      expect(await acme.findOne({ _id: 'instance' })).toBeNull();
      const streamed: string[] = [];
      for await (const d of acme.stream({}, { sort: { _id: 1 } })) streamed.push(d._id);
      expect(streamed).toEqual(['acme:1', 'acme:2']);
    });

    it('a caller-supplied tenantId cannot widen or redirect the scope', async () => {
      const hostile: Record<string, unknown>[] = [
        { tenantId: 'other' },
        { tenantId: { $ne: 'acme' } },
        { tenantId: { $in: ['other'] } },
        { tenantId: { $exists: false } },
        { tenantId: null },
        { $or: [{ tenantId: 'other' }, { name: 'secret' }] },
        { $and: [{ tenantId: 'other' }] },
        { $nor: [{ tenantId: 'acme' }] },
        { _id: { $in: ['other:1', 'other:2', 'instance'] } },
        { _id: 'other:2' },
        { $expr: { $ne: ['$tenantId', 'acme'] } },
        JSON.parse('{"__proto__": {"tenantId": "other"}, "name": "secret"}') as Record<string, unknown>,
      ];
      for (const filter of hostile) {
        expect(await acme.find(filter), JSON.stringify(filter)).toEqual([]);
        expect(await acme.countDocuments(filter), JSON.stringify(filter)).toBe(0);
        expect(await acme.findOne(filter), JSON.stringify(filter)).toBeNull();
      }
    });

    it('a tenantId filter that includes other tenants still yields only this tenant', async () => {
      expect(sortedIds(await acme.find({ tenantId: { $in: ['acme', 'other'] } }))).toEqual(['acme:1', 'acme:2']);
      expect(sortedIds(await acme.find({ tenantId: { $exists: true } }))).toEqual(['acme:1', 'acme:2']);
      expect(sortedIds(await acme.find({ $or: [{ tenantId: 'other' }, { tags: 'shared' }] }))).toEqual(['acme:1']);
      expect(sortedIds(await acme.find({ tenantId: 'acme' }))).toEqual(['acme:1', 'acme:2']);
    });

    it('a projection that hides tenantId does not lift the scope', async () => {
      expect(await acme.find({}, { projection: { name: 1 }, sort: { _id: 1 } })).toEqual([
        { _id: 'acme:1', name: 'one' },
        { _id: 'acme:2', name: 'two' },
      ]);
    });

    it('does not mutate the caller’s filter', async () => {
      const filter = { name: 'one' };
      const hostile = { tenantId: 'other' };
      await acme.find(filter);
      await acme.find(hostile);
      expect(filter).toEqual({ name: 'one' });
      expect(hostile).toEqual({ tenantId: 'other' });
    });

    it('two scopes over one collection do not see each other', async () => {
      const other = tenantScoped(raw, 'other');
      expect(sortedIds(await other.find({}))).toEqual(['other:1', 'other:2']);
      expect(sortedIds(await other.find({ tenantId: 'acme' }))).toEqual([]);
      expect(sortedIds(await tenantScoped(raw, 'nobody').find({}))).toEqual([]);
    });
  });

  describe('writes that target other tenants change nothing', () => {
    it('update, replace and delete with filters naming other tenants’ documents', async () => {
      expect(await acme.updateOne({ _id: 'other:1' }, { $set: { name: 'pwned' } })).toEqual({
        matchedCount: 0,
        modifiedCount: 0,
        upsertedCount: 0,
      });
      expect((await acme.updateMany({ tenantId: 'other' }, { $set: { name: 'pwned' } })).matchedCount).toBe(0);
      expect((await acme.replaceOne({ _id: 'other:2' }, { _id: 'other:2', name: 'pwned' })).matchedCount).toBe(0);
      expect(await acme.deleteOne({ _id: 'other:1' })).toBe(0);
      expect(await acme.deleteMany({ $or: [{ tenantId: 'other' }, { _id: 'instance' }] })).toBe(0);
      await othersUntouched();
    });

    it('updateMany({}) and deleteMany({}) stay inside the tenant', async () => {
      expect((await acme.updateMany({}, { $set: { touched: true } })).matchedCount).toBe(2);
      expect(await raw.countDocuments({ touched: true })).toBe(2);
      await othersUntouched();
      expect(await acme.deleteMany({})).toBe(2);
      expect(await raw.countDocuments({})).toBe(3);
      await othersUntouched();
    });

    it('an upsert on another tenant’s _id collides instead of overwriting it', async () => {
      await expect(acme.updateOne({ _id: 'other:2' }, { $set: { name: 'pwned' } }, { upsert: true })).rejects.toBeInstanceOf(
        DuplicateKeyError,
      );
      await expect(acme.replaceOne({ _id: 'other:2' }, { _id: 'other:2', name: 'pwned' }, { upsert: true })).rejects.toBeInstanceOf(
        DuplicateKeyError,
      );
      await expect(acme.insertOne({ _id: 'other:2', name: 'pwned' })).rejects.toBeInstanceOf(DuplicateKeyError);
      await othersUntouched();
    });
  });

  describe('documents written are always the tenant’s', () => {
    it('insertOne sets tenantId, accepts the same tenant, rejects another', async () => {
      await acme.insertOne({ _id: 'acme:3', name: 'three' });
      await acme.insertOne({ _id: 'acme:4', tenantId: 'acme', name: 'four' });
      expect(await raw.findOne({ _id: 'acme:3' })).toEqual({ _id: 'acme:3', name: 'three', tenantId: 'acme' });
      expect((await raw.findOne({ _id: 'acme:4' }))?.tenantId).toBe('acme');

      await expect(acme.insertOne({ _id: 'x', tenantId: 'other', name: 'smuggled' })).rejects.toBeInstanceOf(TenantScopeError);
      await expect(acme.insertOne({ _id: 'y', tenantId: '', name: 'smuggled' })).rejects.toBeInstanceOf(TenantScopeError);
      await expect(acme.insertOne({ _id: 'z', tenantId: null, name: 'smuggled' } as unknown as Thing)).rejects.toBeInstanceOf(
        TenantScopeError,
      );
      expect(await raw.countDocuments({ _id: { $in: ['x', 'y', 'z'] } })).toBe(0);
    });

    it('replaceOne forces tenantId and rejects another', async () => {
      await acme.replaceOne({ _id: 'acme:1' }, { _id: 'acme:1', name: 'replaced' });
      expect(await raw.findOne({ _id: 'acme:1' })).toEqual({ _id: 'acme:1', name: 'replaced', tenantId: 'acme' });
      await expect(acme.replaceOne({ _id: 'acme:2' }, { _id: 'acme:2', tenantId: 'other', name: 'moved' })).rejects.toBeInstanceOf(
        TenantScopeError,
      );
      expect((await raw.findOne({ _id: 'acme:2' }))?.tenantId).toBe('acme');
      await acme.replaceOne({ _id: 'acme:new' }, { _id: 'acme:new', name: 'fresh' }, { upsert: true });
      expect(await raw.findOne({ _id: 'acme:new' })).toEqual({ _id: 'acme:new', name: 'fresh', tenantId: 'acme' });
    });

    it('upserts insert documents of the tenant', async () => {
      await acme.updateOne({ _id: 'acme:u1' }, { $set: { name: 'u1' } }, { upsert: true });
      await acme.updateOne({ $and: [{ _id: 'acme:u2' }] }, { $set: { name: 'u2' }, $setOnInsert: { n: 5 } }, { upsert: true });
      await acme.updateOne({ _id: 'acme:u3', tenantId: 'acme' }, { $set: { name: 'u3', tenantId: 'acme' } }, { upsert: true });
      await acme.updateOne({ _id: 'acme:u4', tenantId: { $eq: 'acme' } }, { $set: { name: 'u4' } }, { upsert: true });
      expect(await raw.find({ _id: { $regex: '^acme:u' } }, { sort: { _id: 1 } })).toEqual([
        { _id: 'acme:u1', tenantId: 'acme', name: 'u1' },
        { _id: 'acme:u2', tenantId: 'acme', name: 'u2', n: 5 },
        { _id: 'acme:u3', tenantId: 'acme', name: 'u3' },
        { _id: 'acme:u4', tenantId: 'acme', name: 'u4' },
      ]);
    });

    it('an upsert whose filter names another tenant is rejected before it can insert', async () => {
      await expect(acme.updateOne({ _id: 'fresh', tenantId: 'other' }, { $set: { name: 'x' } }, { upsert: true })).rejects.toBeInstanceOf(
        TenantScopeError,
      );
      await expect(
        acme.updateOne({ _id: 'fresh', tenantId: { $in: ['other'] } }, { $set: { name: 'x' } }, { upsert: true }),
      ).rejects.toBeInstanceOf(TenantScopeError);
      await expect(
        acme.replaceOne({ _id: 'fresh', tenantId: 'other' }, { _id: 'fresh', name: 'x' }, { upsert: true }),
      ).rejects.toBeInstanceOf(TenantScopeError);
      expect(await raw.findOne({ _id: 'fresh' })).toBeNull();
      // Without upsert the same filter is merely empty.
      expect((await acme.updateOne({ _id: 'acme:1', tenantId: 'other' }, { $set: { name: 'x' } })).matchedCount).toBe(0);
    });

    it('updates that would change tenantId are rejected', async () => {
      const attempts: Record<string, unknown>[] = [
        { $set: { tenantId: 'other' } },
        { $set: { name: 'ok', tenantId: 'other' } },
        { $set: { 'tenantId.x': 1 } },
        { $setOnInsert: { tenantId: 'other' } },
        { $unset: { tenantId: '' } },
        { $rename: { tenantId: 'formerTenant' } },
        { $rename: { name: 'tenantId' } },
        { $inc: { tenantId: 1 } },
        { $push: { tenantId: 'other' } },
        { $set: { tenantId: null } },
      ];
      for (const update of attempts) {
        await expect(acme.updateOne({ _id: 'acme:1' }, update), JSON.stringify(update)).rejects.toBeInstanceOf(TenantScopeError);
        await expect(acme.updateMany({}, update), JSON.stringify(update)).rejects.toBeInstanceOf(TenantScopeError);
        await expect(acme.updateOne({ _id: 'acme:new' }, update, { upsert: true }), JSON.stringify(update)).rejects.toBeInstanceOf(
          TenantScopeError,
        );
      }
      expect(await raw.find({ tenantId: 'acme' }, { sort: { _id: 1 } })).toEqual(SEED.filter((d) => d.tenantId === 'acme'));
      expect(await raw.countDocuments({})).toBe(SEED.length);
      // Setting it to the same tenant is harmless and allowed.
      expect((await acme.updateOne({ _id: 'acme:1' }, { $set: { tenantId: 'acme', name: 'same' } })).matchedCount).toBe(1);
    });
  });

  describe('bulkWrite', () => {
    it('scopes every operation', async () => {
      const r = await acme.bulkWrite([
        { insertOne: { document: { _id: 'acme:b1', name: 'b1' } } },
        { updateOne: { filter: { _id: 'other:1' }, update: { $set: { name: 'pwned' } } } },
        { updateOne: { filter: { _id: 'acme:b2' }, update: { $set: { name: 'b2' } }, upsert: true } },
        { updateMany: { filter: {}, update: { $inc: { n: 10 } } } },
        { replaceOne: { filter: { _id: 'other:2' }, replacement: { _id: 'other:2', name: 'pwned' } } },
        { deleteOne: { filter: { _id: 'other:2' } } },
        { deleteMany: { filter: { name: 'one' } } },
      ]);
      expect(r).toEqual({ insertedCount: 1, upsertedCount: 1, matchedCount: 4, modifiedCount: 4, deletedCount: 1, duplicateKeyErrors: [] });
      expect(await raw.find({ tenantId: 'acme' }, { sort: { _id: 1 } })).toEqual([
        { _id: 'acme:2', tenantId: 'acme', name: 'two', n: 12 },
        { _id: 'acme:b1', name: 'b1', tenantId: 'acme', n: 10 },
        { _id: 'acme:b2', tenantId: 'acme', name: 'b2', n: 10 },
      ]);
      await othersUntouched();
    });

    it('one operation leaving the tenant rejects the whole batch before anything is written', async () => {
      await expect(
        acme.bulkWrite([
          { insertOne: { document: { _id: 'acme:b1', name: 'b1' } } },
          { updateOne: { filter: { _id: 'acme:1' }, update: { $set: { tenantId: 'other' } } } },
        ]),
      ).rejects.toBeInstanceOf(TenantScopeError);
      await expect(
        acme.bulkWrite([{ insertOne: { document: { _id: 'x', tenantId: 'other', name: 'x' } } }], { ordered: false }),
      ).rejects.toBeInstanceOf(TenantScopeError);
      expect(await raw.countDocuments({})).toBe(SEED.length);
    });
  });

  describe('surface', () => {
    it('does not expose drop, and requires a tenant', () => {
      expect('drop' in acme).toBe(false);
      // @ts-expect-error drop is not part of a tenant-scoped handle
      expect(acme.drop).toBeUndefined();
      expect(acme.tenantId).toBe('acme');
      expect(acme.name).toBe('things');
      expect(() => tenantScoped(raw, '')).toThrow(TenantScopeError);
    });
  });
});
