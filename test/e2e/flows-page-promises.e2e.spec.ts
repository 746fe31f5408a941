import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createUserWithToken } from '../support/access.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The CPU of a page of flows must not be spent on promises per item: each one
 * costs the GraphQL executor a Promise.all per object up the tree, the
 * execution deadline a race, and every AsyncLocalStorage a hook call. A flow's
 * `namespaceRef` used to make about 30 promises per flow (1,500 for a page of
 * 50); now the page loads its namespaces in one batch before answering and
 * each flow's namespace resolves synchronously. Counted here with Node's own
 * async_hooks (every promise created in this process while one request runs,
 * the test's HTTP client included): the count must not grow with the page.
 */
const PAGE = (first: number, api: 'v1' | 'v2') =>
  api === 'v1'
    ? `{ flows(first: ${first}, includeChildren: true) { edges { node { id namespace revision updatedAt namespaceRef { id description } } } } }`
    : `{ flows(first: ${first}, includeChildren: true) { edges { node { id flowId namespace namespaceRef { id namespaceId description } } } } }`;

describe('a page of flows with their namespaces: promises per request do not grow with the page', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    for (let n = 0; n < 5; n++) {
      expectData(
        await gw.gql(`mutation { createNamespace(input: {id: "team.n${n}", description: "Team ${n}"}) { id } }`, {}, { tenant: 'main' }),
      );
    }
    for (let i = 0; i < 60; i++) {
      const source = `id: flow${String(i).padStart(2, '0')}\nnamespace: team.n${i % 5}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n`;
      expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }, { tenant: 'main' }));
    }
    expect(await gw.app.projections.waitFor(await gw.eventCount(), 60_000)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await gw.dispose();
  });

  /** Promises created in this process while one request for a page of `first` flows runs (the least of three, to leave out timers' work). */
  async function promisesFor(first: number, api: 'v1' | 'v2'): Promise<number> {
    const counts: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      let promises = 0;
      const hook = createHook({
        init(_id, type) {
          if (type === 'PROMISE') promises++;
        },
      });
      hook.enable();
      const answer = await gw.gql<{ flows: { edges: { node: { namespaceRef: { description: string } | null } }[] } }>(
        PAGE(first, api),
        {},
        { tenant: 'main', api },
      );
      hook.disable();
      const edges = expectData(answer).flows.edges;
      expect(edges).toHaveLength(first);
      expect(edges.every((e) => e.node.namespaceRef?.description.startsWith('Team '))).toBe(true);
      counts.push(promises);
    }
    return Math.min(...counts);
  }

  for (const api of ['v1', 'v2'] as const) {
    it(`${api}: 50 flows cost fewer than 2 promises more per flow than 10 (they cost about 30 each before)`, async () => {
      await promisesFor(10, api); // warm: parsed documents, prepared statements
      const ten = await promisesFor(10, api);
      const fifty = await promisesFor(50, api);
      expect(fifty - ten).toBeLessThan(2 * 40);
    });
  }

  it('the batch loads no namespace the caller may not view: namespaceRef stays null there, on both APIs', async () => {
    // FLOW:LIST/VIEW on the whole tenant, NAMESPACE:VIEW only on team.n1.
    expectData(
      await gw.gql(
        `mutation { createRole(input: {id: "lister", permissions: [{resource: "FLOW", actions: ["LIST", "VIEW"]}]}) { id } }`,
        {},
        { tenant: 'main' },
      ),
    );
    expectData(
      await gw.gql(
        `mutation { createRole(input: {id: "ns-viewer", permissions: [{resource: "NAMESPACE", actions: ["VIEW"]}]}) { id } }`,
        {},
        { tenant: 'main' },
      ),
    );
    const token = await createUserWithToken(gw, 'lister');
    await bind(gw, 'main', { principalType: 'USER', principalId: 'lister', roleId: 'lister' });
    await bind(gw, 'main', { principalType: 'USER', principalId: 'lister', roleId: 'ns-viewer', namespace: 'team.n1' });
    for (const api of ['v1', 'v2'] as const) {
      const edges = expectData(
        await gw.gql<{ flows: { edges: { node: { namespace: string; namespaceRef: { description: string } | null } }[] } }>(
          PAGE(20, api),
          {},
          { tenant: 'main', token, api },
        ),
      ).flows.edges;
      expect(edges).toHaveLength(20);
      for (const { node } of edges) {
        if (node.namespace === 'team.n1') expect(node.namespaceRef?.description).toBe('Team 1');
        else expect(node.namespaceRef).toBeNull();
      }
    }
  });
});
