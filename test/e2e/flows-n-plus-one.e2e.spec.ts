import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { HookedStore } from '../support/store-hooks.js';

/** Counts every call the application makes on any collection of the real store. */
class CountingStore extends HookedStore {
  readonly calls: string[] = [];
  constructor() {
    super();
    this.hook = (collection, method) => {
      // The projection runtime's own bookkeeping (lease renewals, checkpoint polls, the alias refresh every few
      // seconds) runs on timers, not for the query: it made this count flaky (7 against 6) when a refresh fell inside.
      if (!collection.startsWith('projection_') && collection !== 'read_model_aliases') this.calls.push(`${collection}.${method}`);
      return Promise.resolve();
    };
  }
}

const QUERY = `{ flows(first: 200) { totalCount edges { node { id namespaceRef { id inheritedVariables } revisions(last: 5) { revision source } } } } }`;

describe('flows with their namespaces: a bounded number of store calls (no N+1)', () => {
  const counter = new CountingStore();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ wrapDocuments: counter.wrap });
    // 20 namespaces `team.k`, each below `team`, whose variables they inherit.
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
    expectData(await gw.gql(`mutation { updateNamespace(id: "team", input: {variables: {region: "eu"}}) { id } }`, {}, { tenant: 'main' }));
    for (let k = 0; k < 20; k++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${k}"}) { id } }`, {}, { tenant: 'main' }));
    }
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** Twenty at a time: distinct streams, so concurrent creates do not contend. */
  async function createFlows(from: number, to: number): Promise<void> {
    for (let start = from; start < to; start += 20) {
      const batch = Array.from({ length: Math.min(20, to - start) }, (_, k) => start + k);
      await Promise.all(
        batch.map(async (i) => {
          const source = `id: flow${i}\nnamespace: team.n${i % 20}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n`;
          expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }, { tenant: 'main' }));
        }),
      );
    }
  }

  async function callsFor(expectedFlows: number): Promise<string[]> {
    // Count the query alone: projections still applying the flows just created (under load) would add their own calls.
    expect(await gw.app.projections.waitFor(await gw.eventCount(), 60_000)).toBe(true);
    // Once unmeasured, so that both counts see warm caches (the access data is cached per projection position,
    // and whether that cache was still valid varied from run to run: 7 calls against 6 once in CI on FerretDB).
    await gw.gql(QUERY, {}, { tenant: 'main' });
    counter.calls.length = 0;
    const data = expectData(
      await gw.gql<{ flows: { totalCount: number; edges: { node: { namespaceRef: { inheritedVariables: Record<string, unknown> } } }[] } }>(
        QUERY,
        {},
        { tenant: 'main' },
      ),
    );
    expect(data.flows.totalCount).toBe(expectedFlows);
    expect(data.flows.edges).toHaveLength(expectedFlows);
    expect(data.flows.edges.every((e) => e.node.namespaceRef.inheritedVariables['region'] === 'eu')).toBe(true);
    return [...counter.calls];
  }

  it('makes the same number of DocumentStore calls for 20 flows as for 200', { timeout: 120_000 }, async () => {
    await createFlows(0, 20);
    const twenty = await callsFor(20);
    await createFlows(20, 200);
    const twoHundred = await callsFor(200);

    // The same calls (named, so that a difference says which).
    expect([...twoHundred].sort()).toEqual([...twenty].sort());
    // Tenant, bindings, flows page + count, namespaces, their ancestors, revision sources: a handful, not hundreds.
    expect(twoHundred.length).toBeLessThanOrEqual(12);
    expect(twoHundred.filter((c) => c.startsWith('namespaces'))).toHaveLength(2);
  });
});
