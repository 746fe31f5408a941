/**
 * node(id:)/nodes(ids:) reads: the store work of nodes(ids:) does not grow
 * with the number of ids of entities that have no single-item query (a
 * binding is found in the bindings list, read once per request). Counted in
 * store reads, not timed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingStore } from '../support/counting-store.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('API v2: nodes(ids:) reads each list once per request', () => {
  const store = new CountingStore();
  let gw: TestGateway;
  const bindingIds: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ wrapDocuments: store.wrap });
    expectData(await gw.gql(`mutation { createServiceAccount(input: { id: "bot" }) { id } }`, {}, { tenant: 'main' }));
    for (let i = 0; i < 30; i++) {
      const made = expectData(
        await gw.gql<{ createBinding: { id: string } }>(
          `mutation($ns: String!) { createBinding(input: { principalType: SERVICE_ACCOUNT, principalId: "bot", roleId: "viewer", namespace: $ns }) { id } }`,
          { ns: `company.n${i}` },
          { tenant: 'main', api: 'v2' },
        ),
      );
      bindingIds.push(made.createBinding.id);
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  const readsFor = async (ids: string[]): Promise<number> => {
    store.reset();
    const got = expectData(
      await gw.gql<{ nodes: ({ id: string } | null)[] }>(
        `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
        { ids },
        { tenant: 'main', api: 'v2' },
      ),
    );
    expect(got.nodes.map((n) => n?.id)).toEqual(ids);
    return store.reads('bindings').length;
  };

  it('30 bindings cost the reads of one', async () => {
    const one = await readsFor(bindingIds.slice(0, 1));
    const thirty = await readsFor(bindingIds);
    expect(one).toBeGreaterThan(0);
    // (The first request may read once more: caches of the caller's rights are warm after it.)
    expect(thirty).toBeLessThanOrEqual(one);
  });
});
