/**
 * Runs the DocumentStore contract against every adapter: memory always,
 * mongodb when a server is available (TENANTRY_TEST_MONGODB_URI, or the
 * FerretDB started by test/support/global-setup.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { SqliteDocumentStore } from '../../src/readmodels/sqlite.js';
import { flattenAnd, MongoDocumentStore } from '../../src/readmodels/mongodb.js';
import { DocumentStoreUnavailableError } from '../../src/readmodels/port.js';
import { freePort } from '../support/global-setup.js';
import { describeDocumentStoreContract, type ContractLimitations } from '../contract/documentstore.contract.js';
import { mongoSkipReason, testDatabaseName, testMongoUri } from '../support/mongo.js';

describeDocumentStoreContract('memory', async () => {
  const store = new MemoryDocumentStore();
  return { store, cleanup: () => store.close() };
});

describeDocumentStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-docs-'));
  const store = SqliteDocumentStore.open(join(dir, 'readmodels.sqlite'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const uri = testMongoUri();

if (uri) {
  const dbName = testDatabaseName('documentstore');

  afterAll(async () => {
    const store = await MongoDocumentStore.connect(uri, dbName);
    try {
      await store.dropDatabase();
    } finally {
      await store.close();
    }
  });

  describeDocumentStoreContract('mongodb', async () => {
    const store = await MongoDocumentStore.connect(uri, dbName);
    // FerretDB 1.x gaps (see src/readmodels/mongodb/quirks.ts); a real MongoDB has none.
    const limitations: ContractLimitations = store.isFerretDB
      ? { partialIndexes: false, duplicateKeyIndexName: false, uniqueIndexMissingAsNull: false }
      : {};
    return { store, cleanup: () => store.close(), limitations };
  });
} else {
  const reason = mongoSkipReason();
  console.log(`[documentstore] MongoDB contract suite SKIPPED: ${reason}`);
  describe('DocumentStore contract: mongodb', () => {
    it.skip(`SKIPPED: ${reason}`, () => {});
  });
}

describe('MongoDocumentStore specifics', () => {
  it('connecting to an unreachable server rejects with DocumentStoreUnavailableError, quickly', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await MongoDocumentStore.connect(`mongodb://127.0.0.1:${port}/`, 'unreachable', { serverSelectionTimeoutMS: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DocumentStoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.skipIf(!uri)('operations after close reject with DocumentStoreUnavailableError', async () => {
    const store = await MongoDocumentStore.connect(uri!, testDatabaseName('closed'));
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(DocumentStoreUnavailableError);
    await expect(store.collection('x').find({})).rejects.toBeInstanceOf(DocumentStoreUnavailableError);
  });

  it('flattenAnd merges disjoint $and branches and leaves anything else alone', () => {
    expect(flattenAnd({ a: 1, $and: [{ b: 2 }, { c: { $lt: 3 }, $and: [{ d: 4 }] }] })).toEqual({ a: 1, b: 2, c: { $lt: 3 }, d: 4 });
    const clash = { a: 1, $and: [{ a: 2 }] };
    expect(flattenAnd(clash)).toBe(clash);
    const ors = { $and: [{ $or: [{ a: 1 }] }, { $or: [{ b: 1 }] }] };
    expect(flattenAnd(ors)).toBe(ors);
    const plain = { a: 1 };
    expect(flattenAnd(plain)).toBe(plain);
  });
});
