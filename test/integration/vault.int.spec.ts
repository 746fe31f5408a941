/**
 * Runs the SecretVault contract against every adapter: the embedded SQLite
 * vault (file and in-memory), the mongodb vault over the in-memory
 * DocumentStore, and the mongodb vault over a real MongoDB-wire server when
 * one is available (TENANTRY_TEST_MONGODB_URI or the FerretDB of the global
 * setup). Then what only the embedded file can show: shredding leaves no
 * copy of the wrapped key in the file, and a ciphertext moved to another
 * version does not decrypt.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { MongoDocumentStore } from '../../src/readmodels/mongodb.js';
import { VaultIntegrityError } from '../../src/secrets/envelope-vault.js';
import { MongoVault } from '../../src/secrets/mongo-vault.js';
import { SqliteVault } from '../../src/secrets/sqlite-vault.js';
import { describeVaultContract } from '../contract/vault.contract.js';
import { mongoSkipReason, testDatabaseName, testMongoUri } from '../support/mongo.js';

const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'tenantry-vault-'));

describeVaultContract('embedded (SQLite file)', async (masterKey) => {
  const dir = tempDir();
  const file = path.join(dir, 'vault.sqlite');
  const vault = new SqliteVault(file, masterKey);
  return {
    vault,
    reopen: async (key) => new SqliteVault(file, key),
    cleanup: async () => {
      await vault.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeVaultContract('embedded (in-memory SQLite)', async (masterKey) => {
  const vault = new SqliteVault(':memory:', masterKey);
  return { vault, cleanup: () => vault.close() };
});

describeVaultContract('mongodb (over the in-memory DocumentStore)', async (masterKey) => {
  const store = new MemoryDocumentStore();
  const vault = await MongoVault.open(store, masterKey);
  return { vault, reopen: (key) => MongoVault.open(store, key), cleanup: () => store.close() };
});

const uri = testMongoUri();
if (uri) {
  const dbName = testDatabaseName('vault');
  afterAll(async () => {
    const store = await MongoDocumentStore.connect(uri, dbName);
    try {
      await store.dropDatabase();
    } finally {
      await store.close();
    }
  });
  describeVaultContract('mongodb', async (masterKey) => {
    const store = await MongoDocumentStore.connect(uri, dbName);
    const vault = await MongoVault.open(store, masterKey, { ownsStore: true });
    return {
      vault,
      reopen: async (key) => MongoVault.open(await MongoDocumentStore.connect(uri, dbName), key, { ownsStore: true }),
      cleanup: () => vault.close(),
    };
  });
} else {
  const reason = mongoSkipReason();
  console.log(`[vault] MongoDB vault contract suite SKIPPED: ${reason}`);
  describe('SecretVault contract: mongodb', () => {
    it.skip(`SKIPPED: ${reason}`, () => {});
  });
}

describe('embedded vault file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'vault.sqlite');
  const fileBytes = (): Buffer => Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds ciphertext only, and after destroyTenantKey not even the wrapped data key', async () => {
    const vault = new SqliteVault(file, randomBytes(32));
    const value = `plain-${randomBytes(8).toString('hex')}`;
    await vault.put('acme', 'ns', 'K', 1, value);
    await vault.put('other', 'ns', 'K', 1, 'other tenant');
    const raw = new Database(file, { readonly: true });
    const wrapped = raw.prepare<[string], { wrapped: Buffer }>('SELECT wrapped FROM vault_keys WHERE tenant_id = ?').get('acme')?.wrapped;
    const ciphertext = raw
      .prepare<[], { ciphertext: Buffer }>("SELECT ciphertext FROM vault_secrets WHERE tenant_id = 'acme'")
      .get()?.ciphertext;
    raw.close();
    expect(wrapped?.length).toBe(32);
    expect(fileBytes().includes(Buffer.from(value))).toBe(false);
    expect(fileBytes().includes(wrapped!)).toBe(true);

    await vault.destroyTenantKey('acme');
    const after = fileBytes();
    expect(after.includes(wrapped!)).toBe(false);
    expect(after.includes(ciphertext!)).toBe(false);
    expect(await vault.get('other', 'ns', 'K', 1)).toBe('other tenant');
    await vault.close();
  });

  it('refuses a ciphertext moved to another version, key or tenant (the AAD binds them)', async () => {
    const vault = new SqliteVault(file, randomBytes(32));
    await vault.put('acme', 'ns', 'K', 1, 'version one');
    await vault.put('acme', 'ns', 'K', 2, 'version two');
    await vault.put('acme', 'ns', 'J', 1, 'other key');
    const raw = new Database(file);
    const copy = (fromKey: string, fromVersion: number, toKey: string, toVersion: number) =>
      raw
        .prepare(
          `UPDATE vault_secrets SET (iv, tag, ciphertext) =
             (SELECT iv, tag, ciphertext FROM vault_secrets WHERE tenant_id = 'acme' AND namespace = 'ns' AND key = ? AND version = ?)
           WHERE tenant_id = 'acme' AND namespace = 'ns' AND key = ? AND version = ?`,
        )
        .run(fromKey, fromVersion, toKey, toVersion);
    copy('K', 1, 'K', 2);
    copy('K', 1, 'J', 1);
    raw.close();
    await expect(vault.get('acme', 'ns', 'K', 2)).rejects.toBeInstanceOf(VaultIntegrityError);
    await expect(vault.get('acme', 'ns', 'J', 1)).rejects.toBeInstanceOf(VaultIntegrityError);
    expect(await vault.get('acme', 'ns', 'K', 1)).toBe('version one');
    await vault.close();
  });
});
