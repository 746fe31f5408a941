/**
 * deleteNamespace with a dry run (deleteNamespaceDryRun) that lists exactly
 * what the same call would delete, a cascade to the namespaces below it
 * (includeChildren), the bindings scoped to them with force, and
 * expectedRevision; each deletion is in the audit log, refusals write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken, flowSource } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const T = 'acme';

interface Plan {
  namespaces: { id: string; existing: boolean; revision: number }[];
  flows: { namespace: string; id: string }[];
  secrets: { namespace: string; key: string }[];
  bindings: { id: string; namespace: string }[];
  refusal: string | null;
}
const PLAN = `query($id: ID!, $f: Boolean!, $c: Boolean!) { deleteNamespaceDryRun(id: $id, force: $f, includeChildren: $c) {
  namespaces { id existing revision } flows { namespace id } secrets { namespace key } bindings { id namespace } refusal } }`;
const DELETE = `mutation($id: ID!, $f: Boolean!, $c: Boolean!, $r: Int) { deleteNamespace(id: $id, force: $f, includeChildren: $c, expectedRevision: $r) { id existing } }`;

describe('deleteNamespace: dry run, children, bindings, expectedRevision', () => {
  let gw: TestGateway;
  let bindingId: string;
  const q = <D = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const plan = async (id: string, force: boolean, includeChildren: boolean) =>
    expectData(await q<{ deleteNamespaceDryRun: Plan }>(PLAN, { id, f: force, c: includeChildren })).deleteNamespaceDryRun;

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    for (const id of ['org', 'org.a', 'org.a.b', 'other'])
      expectData(await q(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }));
    for (const ns of ['org.a', 'org.p'])
      expectData(await q(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowSource(ns, 'job') }));
    expectData(await q(`mutation { putSecret(input: {namespace: "org.a.b", key: "KEY", value: "v"}) { key } }`));
    await createUserWithToken(gw, 'dee');
    bindingId = await bind(gw, T, { principalType: 'USER', principalId: 'dee', roleId: 'viewer', namespace: 'org.a' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('lists exactly what each call would delete, and writes nothing', async () => {
    const events = await gw.eventCount();
    expect(await plan('org', false, false)).toEqual({
      namespaces: [{ id: 'org', existing: true, revision: 1 }],
      flows: [],
      secrets: [],
      bindings: [],
      refusal: null,
    });
    const refused = await plan('org', false, true);
    expect(refused.namespaces.map((n) => [n.id, n.existing])).toEqual([
      ['org.a.b', true],
      ['org.a', true],
      ['org.p', false],
      ['org', true],
    ]);
    expect(refused.refusal).toMatch(/2 flow\(s\) and 1 secret\(s\)/);
    expect(refused.flows).toEqual([]);
    const forced = await plan('org', true, true);
    expect(forced).toMatchObject({
      refusal: null,
      flows: [
        { namespace: 'org.a', id: 'job' },
        { namespace: 'org.p', id: 'job' },
      ],
      secrets: [{ namespace: 'org.a.b', key: 'KEY' }],
      bindings: [{ id: bindingId, namespace: 'org.a' }],
    });
    expect(errorCode(await q(PLAN, { id: 'nothing.here', f: true, c: true }))).toBe('NOT_FOUND');
    expect(await gw.eventCount()).toBe(events);
  });

  it('refuses without force, with a stale expectedRevision, or for a caller without NAMESPACE:DELETE, deleting nothing', async () => {
    const editor = await createUserWithToken(gw, 'ed');
    await bind(gw, T, { principalType: 'USER', principalId: 'ed', roleId: 'editor' });
    const events = await gw.eventCount();
    expect(errorCode(await q(DELETE, { id: 'org', f: false, c: true, r: null }))).toBe('CONFLICT');
    const stale = await q(DELETE, { id: 'org', f: true, c: true, r: 7 });
    expect(errorCode(stale)).toBe('CONFLICT');
    expect(stale.errors?.[0]?.extensions['actualRevision']).toBe(1);
    expect(errorCode(await q(DELETE, { id: 'org', f: true, c: true, r: null }, editor))).toBe('FORBIDDEN');
    expect(errorCode(await q(PLAN, { id: 'org', f: true, c: true }, editor))).toBe('FORBIDDEN');
    expect(await gw.eventCount()).toBe(events);
  });

  it('deletes the namespace, its children, what they hold and the bindings scoped to them, each in the audit log', async () => {
    const expected = await plan('org', true, true);
    expectData(await q(DELETE, { id: 'org', f: true, c: true, r: 1 }));
    for (const id of ['org', 'org.a', 'org.a.b', 'org.p']) {
      expect(expectData(await q<{ namespace: unknown }>(`query($id: ID!) { namespace(id: $id) { id } }`, { id })).namespace, id).toBeNull();
    }
    const flows = expectData(
      await q<{ flows: { edges: { node: { namespace: string; deleted: boolean } }[] } }>(
        `{ flows(namespace: "org", includeChildren: true, includeDeleted: true) { edges { node { namespace deleted } } } }`,
      ),
    ).flows.edges;
    expect(flows.map((e) => e.node)).toEqual([
      { namespace: 'org.a', deleted: true },
      { namespace: 'org.p', deleted: true },
    ]);
    expect(expectData(await q<{ secrets: unknown[] }>(`{ secrets(namespace: "org.a.b") { key } }`)).secrets).toEqual([]);
    expect(expectData(await q<{ bindings: { id: string }[] }>(`{ bindings(principalId: "dee") { id } }`)).bindings).toEqual([]);
    expect(expectData(await q<{ namespace: { id: string } | null }>(`{ namespace(id: "other") { id } }`)).namespace).toEqual({
      id: 'other',
    });

    const trail = expectData(
      await q<{ auditLogs: { edges: { node: { resourceType: string; resourceId: string; action: string } }[] } }>(
        `{ auditLogs(first: 200) { edges { node { resourceType resourceId action } } } }`,
      ),
    ).auditLogs.edges.map((e) => `${e.node.action} ${e.node.resourceType} ${e.node.resourceId}`);
    expect(trail).toEqual(
      expect.arrayContaining([
        'DELETE NAMESPACE org',
        'DELETE NAMESPACE org.a',
        'DELETE NAMESPACE org.a.b',
        'DELETE FLOW org.a.job',
        'DELETE FLOW org.p.job',
        'DELETE SECRET org.a.b/KEY',
        `REVOKE BINDING ${expected.bindings[0]!.id}`,
      ]),
    );
  });
});
