/**
 * Issue 15: the gateway signs each tenant's ledger on its own, every
 * TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS, when the tenant has new events, and
 * signs nothing while nothing changes (every other test sets the interval to
 * 0 and signs on demand).
 */
import { describe, expect, it } from 'vitest';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/process.js';

interface Checkpoint {
  size: number;
  rootHash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

const INTERVAL_MS = 200;

const checkpoints = async (gw: TestGateway): Promise<Checkpoint[]> =>
  expectData(
    await gw.gql<{ auditCheckpoints: Checkpoint[] }>(
      `{ auditCheckpoints(first: 1000) { size rootHash signedAt keyId signature } }`,
      {},
      { tenant: 'acme' },
    ),
  ).auditCheckpoints;

/** The ledger's size for acme once every projection (the ledger's included) has caught up with the log. */
async function ledgerSize(gw: TestGateway): Promise<number> {
  await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
  return (await gw.app.ledger.head('acme'))?.size ?? 0;
}

async function createNamespaces(gw: TestGateway, ids: string[]): Promise<void> {
  for (const id of ids) expectData(await gw.gql(`mutation { createNamespace(input: {id: "${id}"}) { id } }`, {}, { tenant: 'acme' }));
}

describe(`signed checkpoints on a timer (TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS=${INTERVAL_MS})`, () => {
  it('new events get a signed checkpoint by themselves within an interval; nothing is signed again while nothing changes', async () => {
    const gw = await startTestGateway({ env: { TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: String(INTERVAL_MS) } });
    try {
      expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
      await createNamespaces(gw, ['a', 'b', 'c']);
      const size = await ledgerSize(gw);
      expect(size).toBeGreaterThan(0);
      // Nobody asks for one: the timer signs the ledger as it now is.
      await waitUntil('a checkpoint of the whole ledger', async () => (await checkpoints(gw)).at(-1)?.size === size, 10_000);
      const signed = await checkpoints(gw);

      // Five intervals without an event: the same checkpoints, none signed again.
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
      expect(await checkpoints(gw)).toEqual(signed);

      // New events: a new checkpoint covers them, signed after the earlier ones.
      await createNamespaces(gw, ['d', 'e']);
      const grown = await ledgerSize(gw);
      expect(grown).toBeGreaterThan(size);
      await waitUntil('a checkpoint of the grown ledger', async () => (await checkpoints(gw)).at(-1)?.size === grown, 10_000);
      const after = await checkpoints(gw);
      expect(after.slice(0, signed.length)).toEqual(signed);
      for (const c of after.slice(signed.length)) {
        expect(c.size).toBeGreaterThan(size);
        expect(c.signedAt > signed.at(-1)!.signedAt).toBe(true);
      }

      // Every one of them is a valid signature over a root the log still reaches.
      const verified = expectData(
        await gw.gql<{ verifyAuditLog: { ok: boolean; checkedCheckpoints: number } }>(
          `{ verifyAuditLog(full: true) { ok checkedCheckpoints } }`,
          {},
          { tenant: 'acme' },
        ),
      ).verifyAuditLog;
      expect(verified).toEqual({ ok: true, checkedCheckpoints: after.length });
    } finally {
      await gw.dispose();
    }
  }, 60_000);
});
