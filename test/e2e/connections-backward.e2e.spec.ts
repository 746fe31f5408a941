/**
 * Relay connections page both ways: `first`/`after` forwards, `last`/`before`
 * backwards, with a complete PageInfo (hasNextPage, hasPreviousPage,
 * startCursor, endCursor). Walking a list backwards from its end gives the
 * same items in the same order as walking it forwards, on flows (by
 * namespace, then id) and on the audit log (newest first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, flowSource } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
interface Connection {
  edges: { cursor: string; node: { key: string } }[];
  pageInfo: PageInfo;
}

const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

describe('connections: forwards and backwards, with a complete PageInfo', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'acme');
    for (const [namespace, id] of [
      ['team.a', 'f1'],
      ['team.a', 'f2'],
      ['team.b', 'f1'],
      ['team.b', 'f3'],
      ['team.c', 'f0'],
      ['team.c', 'f9'],
      ['team.d', 'f5'],
    ] as const)
      expectData(
        await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(namespace, id) }, { tenant: 'acme' }),
      );
  }, 120_000);

  afterAll(async () => {
    await gw?.dispose();
  });

  const flows = async (args: string): Promise<Connection> => {
    const data = expectData(
      await gw.gql<{ flows: { edges: { cursor: string; node: { namespace: string; id: string } }[]; pageInfo: PageInfo } }>(
        `{ flows(${args}) { edges { cursor node { namespace id } } ${PAGE_INFO} } }`,
        {},
        { tenant: 'acme' },
      ),
    ).flows;
    return { ...data, edges: data.edges.map((e) => ({ cursor: e.cursor, node: { key: `${e.node.namespace}.${e.node.id}` } })) };
  };
  const audit = async (args: string): Promise<Connection> => {
    const data = expectData(
      await gw.gql<{ auditLogs: { edges: { cursor: string; node: { position: string } }[]; pageInfo: PageInfo } }>(
        `{ auditLogs(${args}) { edges { cursor node { position } } ${PAGE_INFO} } }`,
        {},
        { tenant: 'acme' },
      ),
    ).auditLogs;
    return { ...data, edges: data.edges.map((e) => ({ cursor: e.cursor, node: { key: e.node.position } })) };
  };

  /** Every item, forwards 3 at a time, then backwards 3 at a time from the end: both in list order. */
  async function bothWays(list: (args: string) => Promise<Connection>): Promise<{ forwards: string[]; backwards: string[] }> {
    const forwards: string[] = [];
    let page = await list('first: 3');
    expect(page.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: page.edges[0]!.cursor });
    forwards.push(...page.edges.map((e) => e.node.key));
    while (page.pageInfo.hasNextPage) {
      page = await list(`first: 3, after: "${page.pageInfo.endCursor}"`);
      expect(page.pageInfo.hasPreviousPage).toBe(true);
      forwards.push(...page.edges.map((e) => e.node.key));
    }
    const backwards: string[] = [];
    page = await list('last: 3');
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true, endCursor: page.edges.at(-1)!.cursor });
    backwards.unshift(...page.edges.map((e) => e.node.key));
    while (page.pageInfo.hasPreviousPage) {
      page = await list(`last: 3, before: "${page.pageInfo.startCursor}"`);
      expect(page.pageInfo.hasNextPage).toBe(true);
      backwards.unshift(...page.edges.map((e) => e.node.key));
    }
    return { forwards, backwards };
  }

  it('flows: backwards from the end gives the list forwards, by namespace then id', async () => {
    const { forwards, backwards } = await bothWays(flows);
    expect(forwards).toEqual(['team.a.f1', 'team.a.f2', 'team.b.f1', 'team.b.f3', 'team.c.f0', 'team.c.f9', 'team.d.f5']);
    expect(backwards).toEqual(forwards);
  });

  it('audit log: backwards (towards newer entries) from the oldest gives the list newest first', async () => {
    const { forwards, backwards } = await bothWays(audit);
    expect(forwards.length).toBeGreaterThanOrEqual(8);
    expect(forwards.map(Number)).toEqual([...forwards.map(Number)].sort((a, b) => b - a));
    expect(backwards).toEqual(forwards);
  });

  it('a page just before a cursor ends right before it', async () => {
    const all = await flows('first: 7');
    const page = await flows(`last: 2, before: "${all.edges[4]!.cursor}"`);
    expect(page.edges.map((e) => e.node.key)).toEqual(['team.b.f1', 'team.b.f3']);
    expect(page.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
  });

  it('refuses after with before (one direction a request), and a last out of range, as bad input', async () => {
    const all = await flows('first: 2');
    const both = await gw.gql(
      `{ flows(after: "${all.edges[0]!.cursor}", before: "${all.edges[1]!.cursor}") { edges { cursor } } }`,
      {},
      {
        tenant: 'acme',
      },
    );
    expect(errorCode(both)).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql(`{ auditLogs(last: 501) { edges { cursor } } }`, {}, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql(`{ auditLogs(last: 2, before: "not-a-cursor") { edges { cursor } } }`, {}, { tenant: 'acme' }))).toBe(
      'BAD_USER_INPUT',
    );
  });
});
