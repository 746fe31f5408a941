import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/process.js';

/**
 * Issue 19: "an orphaned ciphertext is cleaned up later". When the removal of
 * old values after a committed event fails (a full disk), the write is
 * answered OK and the values stay behind: before, until the next put of that
 * key, and for a deleted secret, for ever. The leftovers are made here as
 * that failure leaves them (the values written back under the versions the
 * events no longer refer to); the sweep removes exactly those, and runs by
 * itself at start.
 */
describe('the vault sweep removes stored values no event refers to', () => {
  let gw: TestGateway;
  const put = (key: string, value: string) =>
    gw.gql(
      `mutation($i: PutSecretInput!) { putSecret(input: $i) { version } }`,
      { i: { namespace: 'team', key, value } },
      { tenant: 'main' },
    );

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_VAULT: 'embedded' } });
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const stored = (key: string, version: number) => gw.app.vault.get('main', 'team', key, version);

  it('old versions of a live secret and the versions of a deleted one go; the current one and a put in flight stay', async () => {
    expectData(await put('live', 'one'));
    expectData(await put('live', 'two'));
    expectData(await put('gone', 'three'));
    expectData(await gw.gql(`mutation { deleteSecret(namespace: "team", key: "gone") }`, {}, { tenant: 'main' }));
    expect(await stored('live', 1)).toBeNull();
    // What a failed removal leaves: version 1 of `live` (superseded) and of `gone` (deleted) still stored.
    expect(await gw.app.vault.put('main', 'team', 'live', 1, 'leftover one')).toBe(true);
    expect(await gw.app.vault.put('main', 'team', 'gone', 1, 'leftover three')).toBe(true);
    // A put that stored its value and has not appended its event yet: above the stream's version, not an orphan.
    expect(await gw.app.vault.put('main', 'team', 'live', 3, 'in flight')).toBe(true);

    expect(await gw.services.secrets.sweepOrphans({ pageSize: 1 })).toBe(2);
    expect(await stored('live', 1)).toBeNull();
    expect(await stored('gone', 1)).toBeNull();
    expect(await stored('live', 2)).toBe('two');
    expect(await stored('live', 3)).toBe('in flight');
    // Nothing left to do: a second sweep cleans nothing.
    expect(await gw.services.secrets.sweepOrphans()).toBe(0);
  });

  it('runs at start by itself', async () => {
    expect(await gw.app.vault.put('main', 'team', 'gone', 1, 'leftover again')).toBe(true);
    const dataDir = gw.dataDir;
    await gw.stop();
    gw = await startTestGateway({ dataDir, env: { TENANTRY_VAULT: 'embedded' } });
    await waitUntil('the sweep at start to remove the leftover', async () => (await stored('gone', 1)) === null, 10_000);
    expect(await stored('live', 2)).toBe('two');
  });
});
