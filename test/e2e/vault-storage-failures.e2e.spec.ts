import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultUnavailableError } from '../../src/secrets/vault.js';
import { createTenant } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 19, "answers tell the truth about writes": the embedded vault's
 * storage failing (a full disk) is SERVICE_UNAVAILABLE with nothing written,
 * /readyz says so while writes fail and recovers when space is back; and a
 * put whose event is committed answers success even when the cleanup after
 * it fails.
 */
const PUT = `mutation($v: String!, $k: String!) { putSecret(input: {namespace: "company", key: $k, value: $v}) { key version } }`;

/** The vault's own SQLite connection (a test hook into private fields: the size limit is per connection). */
const vaultDb = (gw: TestGateway): Database.Database => (gw.app.vault as unknown as { storage: { db: Database.Database } }).storage.db;

const readyz = async (gw: TestGateway) => {
  const response = await fetch(`${gw.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
};

describe('the embedded vault when its storage fails', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ eventStore: 'sqlite', env: { TENANTRY_VAULT: 'embedded' } });
    await createTenant(gw, 'acme');
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(await gw.gql(PUT, { k: 'FIRST', v: 'v1' }, { tenant: 'acme' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('a full disk (SQLITE_FULL, a real size limit on the vault file) is SERVICE_UNAVAILABLE with no event; /readyz is 503 until space is back', async () => {
    const db = vaultDb(gw);
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages}`);
    try {
      const before = await gw.eventCount();
      const refused = await gw.gql(PUT, { k: 'BIG', v: 'x'.repeat(60_000) }, { tenant: 'acme' });
      expect(errorCode(refused)).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(refused.errors)).not.toContain('xxxx');
      expect(await gw.eventCount()).toBe(before);
      const down = await readyz(gw);
      expect(down.status).toBe(503);
      expect(down.body.checks['vault']).toMatch(/SQLITE_FULL/);
    } finally {
      db.pragma('max_page_count = 1073741823');
    }
    // Space is back: the next check writes its probe, and the vault is ready again.
    const up = await readyz(gw);
    expect(up.status).toBe(200);
    expect(up.body.checks['vault']).toBe('ok');
    expect(
      expectData(await gw.gql<{ putSecret: { version: number } }>(PUT, { k: 'BIG', v: 'x'.repeat(60_000) }, { tenant: 'acme' })).putSecret
        .version,
    ).toBe(1);
  });

  it('a put whose event is committed answers success though pruning the older value fails (failure injected: a delete that hits a full disk cannot be produced on demand)', async () => {
    const vault = gw.app.vault;
    const realDelete = vault.delete.bind(vault);
    let attempted = 0;
    vault.delete = async () => {
      attempted++;
      throw new VaultUnavailableError("the vault's storage is unavailable while deleting old secret values: SQLITE_FULL");
    };
    try {
      const before = await gw.eventCount();
      const put = await gw.gql<{ putSecret: { version: number } }>(PUT, { k: 'FIRST', v: 'v2' }, { tenant: 'acme' });
      expect(put.errors).toBeUndefined();
      expect(put.data?.putSecret.version).toBe(2);
      expect(attempted).toBe(1);
      expect(await gw.eventCount()).toBe(before + 1);
    } finally {
      vault.delete = realDelete;
    }
    // The next put prunes every older version, the one left behind included.
    expectData(await gw.gql(PUT, { k: 'FIRST', v: 'v3' }, { tenant: 'acme' }));
    expect(await gw.app.vault.get('acme', 'company', 'FIRST', 1)).toBeNull();
    expect(await gw.app.vault.get('acme', 'company', 'FIRST', 2)).toBeNull();
    expect(await gw.app.vault.get('acme', 'company', 'FIRST', 3)).toBe('v3');
  });
});
