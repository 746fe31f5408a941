/**
 * Allowed namespaces that hold, over GraphQL: "all" (the default), a list and
 * "none" are all expressible; a flow whose tasks or triggers name another
 * namespace (subflows, flow triggers, …) is checked against that namespace's
 * setting when it is created, updated or restored; `mayUseNamespace` answers
 * with the rule that decided.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const T = 'acme';

interface Usage {
  mayUseNamespace: { from: string; to: string; allowed: boolean; rule: string; revision: number | null } | null;
}
interface Ns {
  id: string;
  revision: number;
  allowedNamespaces: string[];
  allowedNamespacesMode: string;
}

const subflow = (ns: string, id: string, target: string, revision = '') =>
  [
    `id: ${id}`,
    `namespace: ${ns}`,
    'tasks:',
    '  - id: call',
    '    type: io.kestra.plugin.core.flow.Subflow',
    `    namespace: ${target}`,
    '    flowId: shared',
    `    description: "${revision}"`,
    '',
  ].join('\n');

const flowTrigger = (ns: string, id: string, target: string) =>
  [
    `id: ${id}`,
    `namespace: ${ns}`,
    'tasks:',
    '  - id: log',
    '    type: io.kestra.plugin.core.log.Log',
    '    message: "{{ trigger.executionId }}"',
    'triggers:',
    '  - id: after',
    '    type: io.kestra.plugin.core.trigger.Flow',
    '    preconditions:',
    '      id: upstream',
    '      flows:',
    `        - namespace: ${ns}`,
    '          flowId: first',
    `        - namespace: ${target}`,
    '          flowId: second',
    '',
  ].join('\n');

describe('allowed namespaces', () => {
  let gw: TestGateway;
  const q = <D = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const setAllowed = (id: string, input: Record<string, unknown>) =>
    q<{ updateNamespace: Ns }>(
      `mutation($id: ID!, $in: UpdateNamespaceInput!) { updateNamespace(id: $id, input: $in) { id revision allowedNamespaces allowedNamespacesMode } }`,
      { id, in: input },
    );
  const mayUse = async (from: string, to: string, token?: string) =>
    expectData(
      await q<Usage>(
        `query($f: String!, $t: String!) { mayUseNamespace(from: $f, to: $t) { from to allowed rule revision } }`,
        { f: from, t: to },
        token,
      ),
    ).mayUseNamespace;
  const createFlow = (source: string) =>
    q<{ createFlow: { revision: number } }>(`mutation($s: String!) { createFlow(source: $s) { revision } }`, { s: source });
  const updateFlow = (ns: string, id: string, source: string) =>
    q<{ updateFlow: { revision: number } }>(
      `mutation($ns: String!, $id: ID!, $s: String!) { updateFlow(namespace: $ns, id: $id, source: $s) { revision } }`,
      {
        ns,
        id,
        s: source,
      },
    );
  const refusedFor = (result: GqlResult<unknown>, path: string, rule: string) => {
    expect(errorCode(result), JSON.stringify(result.data)).toBe('BAD_USER_INPUT');
    const extensions = result.errors?.[0]?.extensions;
    expect(extensions).toMatchObject({ field: 'source', reason: 'NAMESPACE_NOT_ALLOWED', path });
    expect(extensions?.['references']).toContainEqual(expect.objectContaining({ path, rule }));
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    for (const id of ['company', 'company.shared', 'company.app', 'company.ops', 'company.locked']) {
      expectData(await q(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }));
    }
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('expresses all (the default), a list and none, and answers mayUseNamespace with the deciding rule and revision', async () => {
    expect(await mayUse('company.app', 'company.shared')).toMatchObject({ allowed: true, rule: 'ALL_NAMESPACES', revision: 1 });
    const listed = expectData(
      await setAllowed('company.shared', { allowedNamespacesMode: 'LIST', allowedNamespaces: ['company.ops'] }),
    ).updateNamespace;
    expect(listed).toMatchObject({ allowedNamespacesMode: 'LIST', allowedNamespaces: ['company.ops'], revision: 2 });
    expect(await mayUse('company.ops', 'company.shared')).toEqual({
      from: 'company.ops',
      to: 'company.shared',
      allowed: true,
      rule: 'LISTED',
      revision: 2,
    });
    expect(await mayUse('company.app', 'company.shared')).toMatchObject({ allowed: false, rule: 'NOT_LISTED', revision: 2 });
    expect(await mayUse('company.shared', 'company.shared')).toMatchObject({ allowed: true, rule: 'SAME_NAMESPACE' });
    // A child is not its parent: it is listed or not like any other namespace.
    expect(await mayUse('company.ops.child', 'company.shared')).toMatchObject({ allowed: false, rule: 'NOT_LISTED' });
    expect(await mayUse('company.app', 'never.created')).toMatchObject({ allowed: true, rule: 'NO_SETTINGS', revision: null });

    const none = expectData(await setAllowed('company.locked', { allowedNamespacesMode: 'NONE' })).updateNamespace;
    expect(none).toMatchObject({ allowedNamespacesMode: 'NONE', allowedNamespaces: [] });
    expect(await mayUse('company.ops', 'company.locked')).toMatchObject({ allowed: false, rule: 'NO_NAMESPACES' });
    expect(await mayUse('company.locked', 'company.locked')).toMatchObject({ allowed: true, rule: 'SAME_NAMESPACE' });

    // The list alone keeps its meaning from before modes: a list is LIST, an empty list is ALL.
    expect(expectData(await setAllowed('company.ops', { allowedNamespaces: ['company.app'] })).updateNamespace.allowedNamespacesMode).toBe(
      'LIST',
    );
    expect(expectData(await setAllowed('company.ops', { allowedNamespaces: [] })).updateNamespace.allowedNamespacesMode).toBe('ALL');

    const trail = expectData(
      await q<{ auditLogs: { edges: { node: { changes: Record<string, { before: unknown; after: unknown }> } }[] } }>(
        `{ auditLogs(filter: {resourceType: "NAMESPACE", resourceId: "company.locked", action: "UPDATE"}, first: 10) { edges { node { changes } } } }`,
      ),
    ).auditLogs.edges.map((e) => e.node.changes);
    expect(trail).toContainEqual({ allowedNamespacesMode: { before: 'ALL', after: 'NONE' } });
  });

  it('refuses a list mode without a list and a list with ALL or NONE, writing nothing', async () => {
    const events = await gw.eventCount();
    for (const input of [
      { allowedNamespacesMode: 'LIST', allowedNamespaces: [] },
      { allowedNamespacesMode: 'NONE', allowedNamespaces: ['company.app'] },
      { allowedNamespacesMode: 'ALL', allowedNamespaces: ['company.app'] },
    ]) {
      const result = await setAllowed('company.app', input);
      expect(errorCode(result), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions['field']).toBe('allowedNamespaces');
    }
    // LIST alone takes the list already set; company.app has none.
    expect(errorCode(await setAllowed('company.app', { allowedNamespacesMode: 'LIST' }))).toBe('BAD_USER_INPUT');
    expect(await gw.eventCount()).toBe(events);
  });

  it("checks a flow's subflows and flow triggers against the target's allowed namespaces on create, update and restore", async () => {
    const events = await gw.eventCount();
    refusedFor(await createFlow(subflow('company.app', 'caller', 'company.shared')), 'tasks[0].namespace', 'NOT_LISTED');
    refusedFor(
      await createFlow(flowTrigger('company.app', 'listener', 'company.locked')),
      'triggers[0].preconditions.flows[1].namespace',
      'NO_NAMESPACES',
    );
    expect(await gw.eventCount()).toBe(events);

    // Allowed once the target lists the caller's namespace; a flow in the listed namespace was always allowed.
    expectData(await createFlow(subflow('company.ops', 'caller', 'company.shared')));
    expectData(await setAllowed('company.shared', { allowedNamespaces: ['company.app', 'company.ops'] }));
    expectData(await createFlow(subflow('company.app', 'caller', 'company.shared')));
    expectData(await updateFlow('company.app', 'caller', subflow('company.app', 'caller', 'company.shared', 'second')));
    // A namespace that was never created restricts nothing; a templated namespace is known only at run time.
    expectData(await updateFlow('company.app', 'caller', subflow('company.app', 'caller', 'nobody.here', 'third')));
    expectData(await updateFlow('company.app', 'caller', subflow('company.app', 'caller', '"{{ inputs.ns }}"', 'fourth')));

    // The target closes: saving again, or restoring a revision that calls it, is refused.
    expectData(await setAllowed('company.shared', { allowedNamespacesMode: 'NONE' }));
    refusedFor(
      await updateFlow('company.app', 'caller', subflow('company.app', 'caller', 'company.shared', 'fifth')),
      'tasks[0].namespace',
      'NO_NAMESPACES',
    );
    const restored = await q(`mutation { restoreFlowRevision(namespace: "company.app", id: "caller", revision: 1) { revision } }`);
    refusedFor(restored, 'tasks[0].namespace', 'NO_NAMESPACES');
    expect(await mayUse('company.app', 'company.shared')).toMatchObject({ allowed: false, rule: 'NO_NAMESPACES' });
  });

  it('answers null to a caller who may not view the target namespace', async () => {
    const token = await createUserWithToken(gw, 'outsider');
    await bind(gw, T, { principalType: 'USER', principalId: 'outsider', roleId: 'viewer', namespace: 'company.app' });
    expect(await mayUse('company.app', 'company.shared', token)).toBeNull();
    expect(await mayUse('company.shared', 'company.app', token)).toMatchObject({ allowed: true });
  });
});
