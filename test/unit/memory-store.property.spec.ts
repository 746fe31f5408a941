/**
 * Differential test of the memory store's query planner: on random documents
 * (mixed types, arrays, missing fields, sub-documents) under several indexes,
 * random filters, sorts, skips and limits give what a brute-force evaluation
 * gives: mingo's filter over every document, then an independent sort. Writes
 * (updateMany, deleteMany, replaceOne, inserts) between the queries check that
 * the indexes follow every change.
 */
import fc from 'fast-check';
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { Collection, Document, Filter, IndexSpec, Sort } from '../../src/readmodels/port.js';

type Doc = Record<string, unknown> & { _id: string };

const INDEXES: IndexSpec[] = [
  { keys: { t: 1, k: 1, n: -1 }, name: 't_k_n' },
  { keys: { t: 1, n: 1 }, name: 't_n' },
  { keys: { k: -1 }, name: 'k_desc' },
  { keys: { 'o.k': 1, n: 1 }, name: 'ok_n' },
  { keys: { t: 1, s: -1 }, name: 't_s', unique: true },
];

// ---------------------------------------------------------------------------
// Reference semantics (independent of the store's code)
// ---------------------------------------------------------------------------

function rank(v: unknown): number {
  if (v === null || v === undefined) return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  if (typeof v === 'boolean') return 8;
  if (v instanceof Date) return 9;
  if (Array.isArray(v)) return 5;
  return 4;
}

function bson(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (ra === 3) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (ra === 8) return Number(a) - Number(b);
  if (ra === 9) return (a as Date).getTime() - (b as Date).getTime();
  if (ra === 1) return 0;
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}

/** Values at a dotted path, through arrays of sub-documents. */
function at(node: unknown, parts: string[], i = 0): unknown[] {
  if (i === parts.length) return [node];
  if (Array.isArray(node)) return node.flatMap((e) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? at(e, parts, i) : []));
  if (node === null || typeof node !== 'object' || node instanceof Date) return [];
  const next = (node as Record<string, unknown>)[parts[i]!];
  return next === undefined ? [] : at(next, parts, i + 1);
}

/** MongoDB sort key: the smallest (ascending) or largest (descending) element; missing and empty arrays like null. */
function sortKey(doc: Doc, path: string, dir: 1 | -1): unknown {
  const flat = at(doc, path.split('.')).flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v]));
  if (flat.length === 0) return null;
  return flat.reduce((best, v) => (bson(v, best) * dir < 0 ? v : best));
}

function sortTuple(doc: Doc, sort: Sort): unknown[] {
  return Object.entries(sort).map(([path, dir]) => sortKey(doc, path, dir));
}

function compareTuples(a: unknown[], b: unknown[], sort: Sort): number {
  const dirs = Object.values(sort);
  for (let i = 0; i < dirs.length; i++) {
    const c = bson(a[i], b[i]);
    if (c !== 0) return c * dirs[i]!;
  }
  return 0;
}

function bruteForce(docs: Doc[], filter: Filter): Doc[] {
  return new Query(filter, { scriptEnabled: false }).find<Doc>(docs).all();
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const MISSING = Symbol('missing');
const scalar = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('a', 'b', 'c', 'ab', 'b.c', '') },
  { weight: 4, arbitrary: fc.integer({ min: -2, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, -0) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1000).map((t) => new Date(t)) },
);
/** Field values; with `irregular`, arrays (empty ones too) and sub-documents reached through arrays. */
function bodyOf(irregular: boolean) {
  const value = fc.oneof(
    { weight: 8, arbitrary: scalar },
    { weight: irregular ? 3 : 0, arbitrary: fc.array(scalar, { maxLength: 3 }) },
    { weight: 2, arbitrary: fc.constant(MISSING) },
  );
  const tenant = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('a', 'b') }, { weight: 1, arbitrary: value });
  const sub = fc.oneof(
    { weight: 6, arbitrary: value.map((k) => (k === MISSING ? {} : { k })) },
    {
      weight: irregular ? 1 : 0,
      arbitrary: fc.array(
        value.map((k) => (k === MISSING ? { j: 1 } : { k })),
        { maxLength: 2 },
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(MISSING, 'flat') },
  );
  return fc.record({ t: tenant, k: value, n: value, u: value, o: sub });
}
const value = fc.oneof(
  { weight: 8, arbitrary: scalar },
  { weight: 2, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.constant(MISSING) },
);
const body = bodyOf(true);

function documentOf(i: number, fields: Record<string, unknown>): Doc {
  const doc: Doc = { _id: `d${String(i).padStart(3, '0')}`, s: i };
  for (const [f, v] of Object.entries(fields)) if (v !== MISSING) doc[f] = v;
  return doc;
}

const FIELDS = ['t', 'k', 'n', 'u', 'o.k', 's', '_id'];
const bound = fc.oneof(
  fc.integer({ min: -2, max: 3 }),
  fc.constantFrom('a', 'ab', 'b', ''),
  fc.constantFrom(0, 1000).map((t) => new Date(t)),
);
const condition = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 2, arbitrary: scalar.map(($eq) => ({ $eq })) },
  { weight: 1, arbitrary: scalar.map(($ne) => ({ $ne })) },
  { weight: 2, arbitrary: fc.array(scalar, { maxLength: 3 }).map(($in) => ({ $in })) },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }).map(($nin) => ({ $nin })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ $gt: bound, $gte: bound, $lt: bound, $lte: bound }, { requiredKeys: [] })
      .filter((r) => Object.keys(r).length > 0),
  },
  { weight: 1, arbitrary: fc.boolean().map(($exists) => ({ $exists })) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b', '').map((p) => ({ $regex: `^${p}` })) },
);
const leaf = fc.dictionary(fc.constantFrom(...FIELDS), condition, { minKeys: 1, maxKeys: 2 });
/** One condition on an indexed field: what the read models send. */
const simple = fc.tuple(fc.constantFrom('k', 'n', 'o.k', 's'), condition).map(([f, c]) => ({ [f]: c }));
const { filter } = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map(($and) => ({ $and })),
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map(($or) => ({ $or })),
  ),
}));
/** Mostly scoped to a tenant, as the read models' queries are. */
const query = fc.oneof(
  filter,
  simple.map((f) => ({ ...f, t: 'a' })),
  simple.map((f) => ({ ...f, t: { $in: ['a', 'b'] } })),
  // Two bounds that different elements of an array may meet.
  fc
    .tuple(fc.constantFrom('k', 'n'), fc.integer({ min: -2, max: 3 }), fc.integer({ min: -2, max: 3 }))
    .map(([f, $gt, $lt]) => ({ t: 'a', [f]: { $gt, $lt } })),
  fc.constantFrom<Filter>({ t: 'a' }, { t: { $in: ['b', 'a'] } }, { t: { $gte: 'a' } }),
  fc.tuple(simple, simple).map(([f, g]) => ({ $and: [f, g], t: 'b' })),
  simple,
  filter.map((f) => ({ ...f, t: 'a' })),
  filter.map((f) => ({ $and: [f], t: 'b' })),
  fc.tuple(filter, fc.constantFrom('a', 'b')).map(([f, t]) => ({ $and: [{ t }, f] })),
);
const sortSpec = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom<Sort>(
    { n: -1 },
    { n: 1 },
    { k: 1, n: -1 },
    { k: -1, n: 1 },
    { s: -1 },
    { s: 1 },
    { k: -1 },
    { n: 1, _id: 1 },
    { _id: -1 },
  ),
  fc
    .array(fc.tuple(fc.constantFrom('t', 'k', 'n', 'u', 'o.k', 's', '_id'), fc.constantFrom<1 | -1>(1, -1)), { minLength: 1, maxLength: 3 })
    .map((keys): Sort => Object.fromEntries(keys)),
);
const findCase = fc.record({
  filter: query,
  sort: sortSpec,
  skip: fc.oneof(fc.constant(0), fc.nat(4)),
  limit: fc.oneof(fc.constant(0), fc.nat(8)),
});
const write = fc.oneof(
  fc.record({ kind: fc.constant('updateMany' as const), filter: query, field: fc.constantFrom('t', 'k', 'n', 'u', 'o'), to: value }),
  fc.record({ kind: fc.constant('deleteMany' as const), filter: query }),
  fc.record({ kind: fc.constant('replaceOne' as const), filter: query, with: body }),
  fc.record({ kind: fc.constant('insert' as const), with: fc.array(body, { minLength: 1, maxLength: 5 }) }),
);

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

async function stored(c: Collection): Promise<Doc[]> {
  return await c.find({});
}

async function checkFind(
  c: Collection,
  docs: Doc[],
  q: { filter: Filter; sort: Sort | undefined; skip: number; limit: number },
): Promise<void> {
  const context = JSON.stringify(q);
  let matching: Doc[];
  try {
    matching = bruteForce(docs, q.filter);
  } catch {
    await expect(c.find(q.filter), context).rejects.toThrow();
    return;
  }
  const got = (await c.find(q.filter, { ...(q.sort ? { sort: q.sort } : {}), skip: q.skip, limit: q.limit })) as Doc[];
  const ids = got.map((d) => d._id);
  const matchingIds = new Set(matching.map((d) => d._id));
  expect(new Set(ids).size, `${context}: no duplicates`).toBe(ids.length);
  for (const id of ids) expect(matchingIds.has(id), `${context}: ${id} matches`).toBe(true);
  const end = q.limit > 0 ? q.skip + q.limit : undefined;
  const expectedLength = Math.max(0, Math.min(matching.length, end ?? Infinity) - q.skip);
  expect(got.length, `${context}: length`).toBe(expectedLength);
  if (q.sort) {
    const sort = q.sort;
    const expected = [...matching].sort((a, b) => compareTuples(sortTuple(a, sort), sortTuple(b, sort), sort)).slice(q.skip, end);
    const gotKeys = got.map((d) => sortTuple(d, sort));
    const expectedKeys = expected.map((d) => sortTuple(d, sort));
    for (let i = 0; i < gotKeys.length; i++) {
      expect(
        compareTuples(gotKeys[i]!, expectedKeys[i]!, sort),
        `${context}: sort key #${i} ${JSON.stringify(gotKeys)} vs ${JSON.stringify(expectedKeys)}`,
      ).toBe(0);
    }
  }
  if (q.skip === 0 && q.limit === 0) expect([...ids].sort(), context).toEqual([...matchingIds].sort());
  expect(await c.countDocuments(q.filter), `${context}: count`).toBe(matching.length);
}

type Write = typeof write extends fc.Arbitrary<infer W> ? W : never;

async function applyWrite(c: Collection, docs: Doc[], w: Write, next: () => number): Promise<void> {
  const context = JSON.stringify(w);
  if (w.kind === 'insert') {
    const inserted = w.with.map((b) => documentOf(next(), b));
    const r = await c.bulkWrite(
      inserted.map((document) => ({ insertOne: { document: document } })),
      { ordered: false },
    );
    expect(r.insertedCount + r.duplicateKeyErrors.length, context).toBe(inserted.length);
    return;
  }
  let matching: Doc[];
  try {
    matching = bruteForce(docs, w.filter);
  } catch {
    return;
  }
  if (w.kind === 'updateMany') {
    const to = w.to === MISSING ? undefined : w.to;
    const update = to === undefined ? { $unset: { [w.field]: '' } } : { $set: { [w.field]: to } };
    const r = await c.updateMany(w.filter, update).catch((err: unknown) => err);
    // A change that would break the unique index fails part way (as MongoDB's does): counts are not comparable.
    if (!(r instanceof Error)) expect((r as { matchedCount: number }).matchedCount, context).toBe(matching.length);
  } else if (w.kind === 'deleteMany') {
    expect(await c.deleteMany(w.filter), context).toBe(matching.length);
  } else {
    const { _id, ...replacement } = documentOf(next(), w.with);
    const r = await c.replaceOne(w.filter, replacement as Document).catch((err: unknown) => err);
    if (!(r instanceof Error)) expect((r as { matchedCount: number }).matchedCount, context).toBe(Math.min(1, matching.length));
  }
}

describe('memory store planner against brute force', () => {
  it('find (sort, skip, limit) and countDocuments agree with mingo over every document, across writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean().chain((irregular) => fc.array(bodyOf(irregular), { maxLength: 120 })),
        fc.array(fc.tuple(fc.array(findCase, { minLength: 1, maxLength: 6 }), write), { minLength: 1, maxLength: 4 }),
        async (bodies, rounds) => {
          const store = new MemoryDocumentStore();
          const c = store.collection('things');
          // Half the time the indexes exist before the documents, half the time they are built over them.
          const early = bodies.length % 2 === 0;
          if (early) await c.createIndexes(INDEXES);
          let i = 0;
          const next = (): number => 1000 + i++;
          const seeded = bodies.map((b, n) => documentOf(n, b));
          if (seeded.length > 0) await c.bulkWrite(seeded.map((document) => ({ insertOne: { document: document } })));
          if (!early) await c.createIndexes(INDEXES);
          for (const [finds, w] of rounds) {
            const docs = await stored(c);
            for (const q of finds) await checkFind(c, docs, q);
            await applyWrite(c, docs, w, next);
          }
          const docs = await stored(c);
          for (const [finds] of rounds) for (const q of finds) await checkFind(c, docs, q);
        },
      ),
      { numRuns: 250 },
    );
  });
});
