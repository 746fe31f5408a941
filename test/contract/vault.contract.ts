/**
 * THE SecretVault contract: every adapter (embedded SQLite, mongodb) runs
 * exactly these tests. Tenants are random per test, so several subjects may
 * share one database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VaultIntegrityError } from '../../src/secrets/envelope-vault.js';
import type { SecretVault } from '../../src/secrets/vault.js';

export interface VaultSubject {
  vault: SecretVault;
  /** Opens the same storage again with this master key (absent for storage that dies with its vault). */
  reopen?: (masterKey: Buffer) => Promise<SecretVault>;
  cleanup: () => Promise<void>;
}

export type VaultFactory = (masterKey: Buffer) => Promise<VaultSubject>;

const tenant = (): string => `t-${randomUUID().slice(0, 8)}`;

export function describeVaultContract(name: string, factory: VaultFactory): void {
  describe(`SecretVault contract: ${name}`, () => {
    let subject: VaultSubject;
    let vault: SecretVault;
    let masterKey: Buffer;
    const opened: SecretVault[] = [];

    beforeEach(async () => {
      masterKey = randomBytes(32);
      subject = await factory(masterKey);
      vault = subject.vault;
    });
    afterEach(async () => {
      for (const extra of opened.splice(0)) await extra.close();
      await subject.cleanup();
    });

    it('stores and returns values per tenant, namespace, key and version', async () => {
      const t = tenant();
      const unicode = 'pässwörd 🔑 ' + 'x'.repeat(1000);
      expect(await vault.put(t, 'company', 'DB', 1, 'one')).toBe(true);
      expect(await vault.put(t, 'company', 'DB', 2, unicode)).toBe(true);
      expect(await vault.put(t, 'company.team', 'DB', 1, 'team')).toBe(true);
      expect(await vault.get(t, 'company', 'DB', 1)).toBe('one');
      expect(await vault.get(t, 'company', 'DB', 2)).toBe(unicode);
      expect(await vault.get(t, 'company.team', 'DB', 1)).toBe('team');
      expect(await vault.get(t, 'company', 'DB', 3)).toBeNull();
      expect(await vault.get(t, 'company', 'OTHER', 1)).toBeNull();
      expect(await vault.get(tenant(), 'company', 'DB', 1)).toBeNull();
    });

    it('keeps a 64 KiB value intact', async () => {
      const t = tenant();
      const big = randomBytes(48 * 1024)
        .toString('base64')
        .slice(0, 64 * 1024);
      expect(await vault.put(t, 'ns', 'BIG', 1, big)).toBe(true);
      expect(await vault.get(t, 'ns', 'BIG', 1)).toBe(big);
    });

    it('never overwrites a version', async () => {
      const t = tenant();
      expect(await vault.put(t, 'ns', 'K', 1, 'first')).toBe(true);
      expect(await vault.put(t, 'ns', 'K', 1, 'second')).toBe(false);
      expect(await vault.get(t, 'ns', 'K', 1)).toBe('first');
    });

    it('lets one of several concurrent writers of a version win, and keeps its value', async () => {
      const t = tenant();
      const values = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
      const won = await Promise.all(values.map((v) => vault.put(t, 'ns', 'K', 1, v)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await vault.get(t, 'ns', 'K', 1)).toBe(values[won.indexOf(true)]);
    });

    it('creates one data key per tenant even when the first puts race', async () => {
      const t = tenant();
      await Promise.all(Array.from({ length: 8 }, (_, i) => vault.put(t, 'ns', `K${i}`, 1, `v${i}`)));
      for (let i = 0; i < 8; i++) expect(await vault.get(t, 'ns', `K${i}`, 1)).toBe(`v${i}`);
      expect((await vault.keyedTenants()).filter((k) => k === t)).toEqual([t]);
    });

    it('answers which versions are available, in the order asked', async () => {
      const t = tenant();
      await vault.put(t, 'ns', 'A', 1, 'a');
      await vault.put(t, 'ns', 'B', 2, 'b');
      const refs = [
        { namespace: 'ns', key: 'B', version: 2 },
        { namespace: 'ns', key: 'A', version: 2 },
        { namespace: 'ns', key: 'A', version: 1 },
        { namespace: 'other', key: 'A', version: 1 },
      ];
      expect(await vault.available(t, refs)).toEqual([true, false, true, false]);
      expect(await vault.available(t, [])).toEqual([]);
      expect(await vault.available(tenant(), refs)).toEqual([false, false, false, false]);
    });

    it('deletes the versions of one key up to a version, and nothing else', async () => {
      const t = tenant();
      for (const version of [1, 2, 3]) await vault.put(t, 'ns', 'K', version, `v${version}`);
      await vault.put(t, 'ns', 'OTHER', 1, 'other');
      await vault.delete(t, 'ns', 'K', 2);
      expect(await vault.get(t, 'ns', 'K', 1)).toBeNull();
      expect(await vault.get(t, 'ns', 'K', 2)).toBeNull();
      expect(await vault.get(t, 'ns', 'K', 3)).toBe('v3');
      expect(await vault.get(t, 'ns', 'OTHER', 1)).toBe('other');
      await vault.delete(t, 'ns', 'K', 2); // idempotent
      // A freed version can be written again.
      expect(await vault.put(t, 'ns', 'K', 1, 'again')).toBe(true);
    });

    it('crypto-shreds one tenant: its values are gone, other tenants keep theirs, the next put gets a new key', async () => {
      const [doomed, survivor] = [tenant(), tenant()];
      await vault.put(doomed, 'ns', 'K', 1, 'doomed value');
      await vault.put(survivor, 'ns', 'K', 1, 'survivor value');
      expect(await vault.keyedTenants()).toEqual(expect.arrayContaining([doomed, survivor]));

      await vault.destroyTenantKey(doomed);
      expect(await vault.get(doomed, 'ns', 'K', 1)).toBeNull();
      expect(await vault.available(doomed, [{ namespace: 'ns', key: 'K', version: 1 }])).toEqual([false]);
      expect(await vault.keyedTenants()).not.toContain(doomed);
      expect(await vault.get(survivor, 'ns', 'K', 1)).toBe('survivor value');
      await vault.destroyTenantKey(doomed); // idempotent
      await vault.destroyTenantKey(tenant()); // a tenant that never had a key

      expect(await vault.put(doomed, 'ns', 'K', 2, 'after restore')).toBe(true);
      expect(await vault.get(doomed, 'ns', 'K', 2)).toBe('after restore');
      expect(await vault.keyedTenants()).toContain(doomed);
    });

    it('lists the secrets with stored values in order, each with its lowest version, a page at a time until an empty page', async () => {
      const t = tenant();
      for (const [namespace, key, version] of [
        ['a', 'x', 2],
        ['a', 'x', 1],
        ['a', 'x', 3],
        ['b', 'x', 5],
        ['a', 'y', 2],
      ] as const) {
        expect(await vault.put(t, namespace, key, version, `v${version}`)).toBe(true);
      }
      for (const limit of [1, 2, 100]) {
        const seen: string[] = [];
        let after: Awaited<ReturnType<SecretVault['storedKeys']>>[number] | null = null;
        for (let pages = 0; pages < 1000; pages++) {
          const page = await vault.storedKeys(after, limit);
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(limit);
          for (const k of page) if (k.tenantId === t) seen.push(`${k.namespace}/${k.key}@${k.minVersion}`);
          after = page.at(-1) ?? null;
        }
        expect(seen).toEqual(['a/x@1', 'a/y@2', 'b/x@5']);
      }
    });

    it('answers ping', async () => {
      await vault.ping();
    });

    it('keeps values across a reopen with the same master key, and refuses to decrypt with another', async () => {
      if (!subject.reopen) return; // storage that lives only as long as its vault
      const t = tenant();
      await vault.put(t, 'ns', 'K', 1, 'durable');
      const same = await subject.reopen(masterKey);
      opened.push(same);
      expect(await same.get(t, 'ns', 'K', 1)).toBe('durable');
      const other = await subject.reopen(randomBytes(32));
      opened.push(other);
      await expect(other.get(t, 'ns', 'K', 1)).rejects.toBeInstanceOf(VaultIntegrityError);
      await expect(other.put(t, 'ns', 'K', 2, 'x')).rejects.toBeInstanceOf(VaultIntegrityError);
    });
  });
}
