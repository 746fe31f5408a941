import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingDecider } from '../../src/aggregates/binding/binding.js';
import { streamName } from '../../src/eventstore/port.js';
import { systemCaller } from '../../src/server/start.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const JWT_SECRET = 'flows-e2e-secret-0123456789-abcdefghij';

/** A flow source with one task per entry of `tasks`. */
function flowYaml(namespace: string, id: string, options: { message?: string; description?: string; tasks?: string[] } = {}): string {
  const tasks = (options.tasks ?? ['log']).map(
    (t) => `  - id: ${t}\n    type: io.kestra.plugin.core.log.Log\n    message: ${options.message ?? 'hi'}\n`,
  );
  const description = options.description ? `description: ${options.description}\n` : '';
  return `id: ${id}\nnamespace: ${namespace}\n${description}tasks:\n${tasks.join('')}`;
}

const FLOW_FIELDS =
  'id namespace revision source description disabled deleted updatedAt updatedBy tasks { id type } revisions { revision updatedBy updatedAt restoredFrom source }';

interface FlowResult {
  id: string;
  namespace: string;
  revision: number;
  source: string;
  description: string | null;
  disabled: boolean;
  deleted: boolean;
  updatedAt: string;
  updatedBy: string;
  tasks: { id: string; type: string }[];
  revisions: { revision: number; updatedBy: string; updatedAt: string; restoredFrom: number | null; source: string }[];
}

interface Connection {
  flows: {
    edges: { cursor: string; node: { id: string; namespace: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('flows over GraphQL (real HTTP, SQLite log)', () => {
  let gw: TestGateway;
  let tenantSeq = 0;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_JWT_SECRET: JWT_SECRET } });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** A fresh tenant per test, administered by `admin`. */
  async function newTenant(settings = ''): Promise<string> {
    const id = `flows-${++tenantSeq}`;
    expectData(await gw.gql(`mutation { createTenant(input: {id: "${id}", name: "T", adminUserId: "admin" ${settings}}) { id } }`));
    return id;
  }

  const createFlow = (tenant: string, source: string) =>
    gw.gql<{ createFlow: FlowResult }>(`mutation($s: String!) { createFlow(source: $s) { ${FLOW_FIELDS} } }`, { s: source }, { tenant });

  const updateFlow = (tenant: string, ns: string, id: string, source: string, expectedRevision?: number) =>
    gw.gql<{ updateFlow: FlowResult }>(
      `mutation($ns: String!, $id: ID!, $s: String!, $r: Int) { updateFlow(namespace: $ns, id: $id, source: $s, expectedRevision: $r) { ${FLOW_FIELDS} } }`,
      { ns, id, s: source, r: expectedRevision ?? null },
      { tenant },
    );

  const getFlow = (tenant: string, ns: string, id: string, at: { revision?: number; asOf?: string } = {}) =>
    gw.gql<{ flow: FlowResult | null }>(
      `query($ns: String!, $id: ID!, $r: Int, $t: DateTime) { flow(namespace: $ns, id: $id, revision: $r, asOf: $t) { ${FLOW_FIELDS} } }`,
      { ns, id, r: at.revision ?? null, t: at.asOf ?? null },
      { tenant },
    );

  const listFlows = (tenant: string, args: string) =>
    gw.gql<Connection>(
      `{ flows${args ? `(${args})` : ''} { edges { cursor node { id namespace } } pageInfo { hasNextPage endCursor } totalCount } }`,
      {},
      { tenant },
    );

  async function streamTypes(tenant: string, ns: string, id: string): Promise<string[]> {
    return (await gw.app.events.readStream(streamName(tenant, 'flow', ns, id))).map((e) => e.type);
  }

  /** Asserts a rejection: the code, and that the log did not move. */
  async function expectRejected(attempt: () => Promise<GqlResult<unknown>>, code: string): Promise<GqlResult<unknown>> {
    const before = await gw.eventCount();
    const result = await attempt();
    expect(errorCode(result), JSON.stringify(result.errors)).toBe(code);
    expect(await gw.eventCount()).toBe(before);
    return result;
  }

  it('lives through create, two updates, a restore and a delete, with every revision readable', async () => {
    const t = await newTenant();
    const v1 = flowYaml('company.team', 'hello', { message: 'one', description: 'Says hello' });
    const v2 = flowYaml('company.team', 'hello', { message: 'two', description: 'Says hello' });
    const v3 = flowYaml('company.team', 'hello', { message: 'three', description: 'Says hello', tasks: ['log', 'again'] });

    const created = expectData(await createFlow(t, v1)).createFlow;
    expect(created).toMatchObject({
      id: 'hello',
      namespace: 'company.team',
      revision: 1,
      source: v1,
      description: 'Says hello',
      deleted: false,
      disabled: false,
      updatedBy: 'admin',
    });
    expect(created.tasks).toEqual([{ id: 'log', type: 'io.kestra.plugin.core.log.Log' }]);
    await pause(5);
    expect(expectData(await updateFlow(t, 'company.team', 'hello', v2)).updateFlow.revision).toBe(2);
    await pause(5);
    const third = expectData(await updateFlow(t, 'company.team', 'hello', v3, 2)).updateFlow;
    expect(third).toMatchObject({ revision: 3, source: v3 });
    expect(third.tasks.map((task) => task.id)).toEqual(['log', 'again']);

    const first = expectData(await getFlow(t, 'company.team', 'hello', { revision: 1 })).flow;
    expect(first).toMatchObject({ revision: 1, source: v1 });
    expect(first?.tasks.map((task) => task.id)).toEqual(['log']);

    await pause(5);
    const restored = expectData(
      await gw.gql<{ restoreFlowRevision: FlowResult }>(
        `mutation { restoreFlowRevision(namespace: "company.team", id: "hello", revision: 1) { ${FLOW_FIELDS} } }`,
        {},
        { tenant: t },
      ),
    ).restoreFlowRevision;
    expect(restored).toMatchObject({ revision: 4, source: v1 });
    expect(restored.tasks.map((task) => task.id)).toEqual(['log']);

    const deleted = expectData(
      await gw.gql<{ deleteFlow: FlowResult }>(
        `mutation { deleteFlow(namespace: "company.team", id: "hello") { ${FLOW_FIELDS} } }`,
        {},
        { tenant: t },
      ),
    ).deleteFlow;
    expect(deleted).toMatchObject({ revision: 4, deleted: true });

    const current = expectData(await getFlow(t, 'company.team', 'hello')).flow;
    expect(current).toMatchObject({ revision: 4, deleted: true, source: v1 });
    expect(current?.revisions.map((r) => [r.revision, r.restoredFrom, r.updatedBy, r.source])).toEqual([
      [1, null, 'admin', v1],
      [2, null, 'admin', v2],
      [3, null, 'admin', v3],
      [4, 1, 'admin', v1],
    ]);
    const lifeCycle = ['FlowCreated', 'FlowUpdated', 'FlowUpdated', 'FlowUpdated', 'FlowDeleted'];
    expect(await streamTypes(t, 'company.team', 'hello')).toEqual(lifeCycle);

    // Time travel: as the flow was when revision 2 was saved.
    const asOf = current?.revisions[1]?.updatedAt ?? '';
    expect(expectData(await getFlow(t, 'company.team', 'hello', { asOf })).flow).toMatchObject({ revision: 2, source: v2, deleted: false });
    expect(expectData(await getFlow(t, 'company.team', 'hello', { asOf: '2000-01-01T00:00:00Z' })).flow).toBeNull();

    // Deleted flows are listed only on request.
    expect(expectData(await listFlows(t, '')).flows.totalCount).toBe(0);
    expect(expectData(await listFlows(t, 'includeDeleted: true')).flows.edges.map((e) => e.node.id)).toEqual(['hello']);

    // Re-creating continues the revision count.
    const again = expectData(await createFlow(t, v2)).createFlow;
    expect(again).toMatchObject({ revision: 5, deleted: false, source: v2 });
    expect(again.revisions.map((r) => r.revision)).toEqual([1, 2, 3, 4, 5]);
    expect(await streamTypes(t, 'company.team', 'hello')).toEqual([...lifeCycle, 'FlowCreated']);
  });

  it('writes nothing for an unchanged source, refuses a stale expectedRevision with the actual one, and a duplicate create', async () => {
    const t = await newTenant();
    const v1 = flowYaml('ops', 'sync');
    expectData(await createFlow(t, v1));
    expectData(await updateFlow(t, 'ops', 'sync', flowYaml('ops', 'sync', { message: 'changed' })));
    // Revision 2, stream of 2 events; after a delete and re-create the two counts differ, which the check must not confuse.
    expectData(await gw.gql(`mutation { deleteFlow(namespace: "ops", id: "sync") { id } }`, {}, { tenant: t }));
    expect(expectData(await createFlow(t, v1)).createFlow.revision).toBe(3);

    const before = await gw.eventCount();
    const same = expectData(await updateFlow(t, 'ops', 'sync', v1, 3)).updateFlow;
    expect(same.revision).toBe(3);
    expect(await gw.eventCount()).toBe(before);

    const stale = await expectRejected(() => updateFlow(t, 'ops', 'sync', flowYaml('ops', 'sync', { message: 'x' }), 4), 'CONFLICT');
    expect(stale.errors?.[0]?.extensions['actualRevision']).toBe(3);
    expect(expectData(await updateFlow(t, 'ops', 'sync', flowYaml('ops', 'sync', { message: 'x' }), 3)).updateFlow.revision).toBe(4);

    await expectRejected(() => createFlow(t, v1), 'CONFLICT');
    await expectRejected(() => updateFlow(t, 'ops', 'missing', flowYaml('ops', 'missing')), 'NOT_FOUND');
    await expectRejected(
      () => gw.gql(`mutation { restoreFlowRevision(namespace: "ops", id: "sync", revision: 99) { id } }`, {}, { tenant: t }),
      'NOT_FOUND',
    );
    expect(expectData(await getFlow(t, 'ops', 'sync', { revision: 99 })).flow).toBeNull();
    expect(expectData(await getFlow(t, 'ops', 'nope')).flow).toBeNull();
  });

  it('refuses bad sources with BAD_USER_INPUT naming the line or the field, and writes nothing', async () => {
    const t = await newTenant();
    const syntax = await expectRejected(() => createFlow(t, 'id: a\nnamespace: b\ntasks:\n  - id: x\n    type: [oops\n'), 'BAD_USER_INPUT');
    expect(syntax.errors?.[0]?.extensions).toMatchObject({
      field: 'source',
      line: expect.any(Number) as number,
      column: expect.any(Number) as number,
    });
    expect(syntax.errors?.[0]?.message).toMatch(/line \d+/);

    const cases: [string, string][] = [
      ['namespace: b\ntasks: [{id: x, type: a.B}]\n', 'id'],
      ['id: a\ntasks: [{id: x, type: a.B}]\n', 'namespace'],
      ['id: a\nnamespace: b\n', 'tasks'],
      ['id: a\nnamespace: b\ntasks: []\n', 'tasks'],
      ['id: a\nnamespace: b\ntasks:\n  - id: x\n', 'tasks[0].type'],
      ['id: a\nnamespace: b\ntasks:\n  - {id: x, type: a.B}\n  - {id: x, type: a.B}\n', 'tasks[1].id'],
      ['id: "has space"\nnamespace: b\ntasks: [{id: x, type: a.B}]\n', 'id'],
      ['id: a\nnamespace: "Upper.Case"\ntasks: [{id: x, type: a.B}]\n', 'namespace'],
      ['id: a\nnamespace: "a..b"\ntasks: [{id: x, type: a.B}]\n', 'namespace'],
    ];
    for (const [source, path] of cases) {
      const result = await expectRejected(() => createFlow(t, source), 'BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions, source).toMatchObject({ field: 'source', path });
      expect(result.errors?.[0]?.message).toContain(path);
    }

    expectData(await createFlow(t, flowYaml('ns', 'f')));
    const moved = await expectRejected(() => updateFlow(t, 'ns', 'f', flowYaml('other', 'f')), 'BAD_USER_INPUT');
    expect(moved.errors?.[0]?.extensions).toMatchObject({ field: 'source', path: 'namespace' });
    const badArg = await expectRejected(() => updateFlow(t, 'ns', 'bad id', flowYaml('ns', 'f')), 'BAD_USER_INPUT');
    expect(badArg.errors?.[0]?.extensions).toMatchObject({ field: 'id' });
  });

  it('shows a flow in an uncreated namespace as a placeholder until the namespace is created', async () => {
    const t = await newTenant();
    expectData(await createFlow(t, flowYaml('ghost.town', 'f1')));
    const namespaces = async (args = '') =>
      expectData(
        await gw.gql<{ namespaces: { id: string; existing: boolean }[] }>(`{ namespaces${args} { id existing } }`, {}, { tenant: t }),
      ).namespaces;
    expect(await namespaces()).toEqual([{ id: 'ghost.town', existing: false }]);
    expect(await namespaces('(existingOnly: true)')).toEqual([]);
    const ref = await gw.gql<{ flow: { namespaceRef: { id: string; existing: boolean } } }>(
      `{ flow(namespace: "ghost.town", id: "f1") { namespaceRef { id existing } } }`,
      {},
      { tenant: t },
    );
    expect(expectData(ref).flow.namespaceRef).toEqual({ id: 'ghost.town', existing: false });

    // The last flow gone, the placeholder goes too; a new flow brings it back.
    expectData(await gw.gql(`mutation { deleteFlow(namespace: "ghost.town", id: "f1") { id } }`, {}, { tenant: t }));
    expect(await namespaces()).toEqual([]);
    expectData(await createFlow(t, flowYaml('ghost.town', 'f2')));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "ghost.town"}) { id } }`, {}, { tenant: t }));
    expect(await namespaces('(existingOnly: true)')).toEqual([{ id: 'ghost.town', existing: true }]);
  });

  it('refuses flows in uncreated namespaces when the tenant requires existing namespaces', async () => {
    const t = await newTenant(', requireExistingNamespace: true');
    const refused = await expectRejected(() => createFlow(t, flowYaml('not.there', 'f')), 'BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ field: 'namespace' });
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "not.there"}) { id } }`, {}, { tenant: t }));
    expect(expectData(await createFlow(t, flowYaml('not.there', 'f'))).createFlow.revision).toBe(1);
  });

  it('pages with first/after, filters by namespace (with children) and by text', async () => {
    const t = await newTenant();
    const flows: [string, string, string?][] = [
      ['a', 'one'],
      ['a', 'two', 'Nightly ETL'],
      ['a.b', 'three'],
      ['a.b.c', 'four'],
      ['ab', 'five'],
      ['b', 'six', 'nightly report'],
      ['b', 'etl-loader'],
    ];
    for (const [ns, id, description] of flows) expectData(await createFlow(t, flowYaml(ns, id, description ? { description } : {})));

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: Connection['flows'] = expectData(await listFlows(t, `first: 3${after ? `, after: "${after}"` : ''}`)).flows;
      expect(page.totalCount).toBe(7);
      seen.push(...page.edges.map((e) => `${e.node.namespace}/${e.node.id}`));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(['a/one', 'a/two', 'a.b/three', 'a.b.c/four', 'ab/five', 'b/etl-loader', 'b/six']);

    const ids = async (args: string) => expectData(await listFlows(t, args)).flows.edges.map((e) => e.node.id);
    expect(await ids('namespace: "a"')).toEqual(['one', 'two']);
    expect(await ids('namespace: "a", includeChildren: true')).toEqual(['one', 'two', 'three', 'four']);
    expect(await ids('namespace: "a.b", includeChildren: true')).toEqual(['three', 'four']);
    expect(await ids('query: "NIGHTLY"')).toEqual(['two', 'six']);
    expect(await ids('query: "etl"')).toEqual(['two', 'etl-loader']);
    expect(await ids('query: "a.b"')).toEqual(['three', 'four']);
    expect(await ids('namespace: "b", query: "nightly"')).toEqual(['six']);
    const empty = expectData(await listFlows(t, 'first: 0')).flows;
    expect(empty).toMatchObject({ edges: [], totalCount: 7, pageInfo: { hasNextPage: true } });

    expect(errorCode(await listFlows(t, 'first: 100000'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await listFlows(t, 'after: "garbage"'))).toBe('BAD_USER_INPUT');
  });

  it('refuses deleteNamespace while flows remain, and with force deletes each flow by its own event', async () => {
    const t = await newTenant();
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: t }));
    for (const id of ['f1', 'f2', 'f3']) expectData(await createFlow(t, flowYaml('team', id)));
    expectData(await createFlow(t, flowYaml('team.child', 'kept')));

    await expectRejected(() => gw.gql(`mutation { deleteNamespace(id: "team") { id } }`, {}, { tenant: t }), 'CONFLICT');

    const before = await gw.eventCount();
    expectData(await gw.gql(`mutation { deleteNamespace(id: "team", force: true) { id existing } }`, {}, { tenant: t }));
    const written = await gw.app.events.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { id: string }).id])).toEqual([
      ['FlowDeleted', 'f1'],
      ['FlowDeleted', 'f2'],
      ['FlowDeleted', 'f3'],
      ['NamespaceDeleted', 'team'],
    ]);
    expect(expectData(await getFlow(t, 'team', 'f2')).flow).toMatchObject({ deleted: true });
    expect(expectData(await listFlows(t, 'namespace: "team", includeChildren: true')).flows.edges.map((e) => e.node.id)).toEqual(['kept']);
  });

  it('refuses every flow operation in a deleted tenant with TENANT_NOT_FOUND', async () => {
    const t = await newTenant();
    expectData(await createFlow(t, flowYaml('ns', 'f')));
    expectData(await gw.gql(`mutation { deleteTenant(id: "${t}") { id deleted } }`));
    await expectRejected(() => createFlow(t, flowYaml('ns', 'g')), 'TENANT_NOT_FOUND');
    await expectRejected(() => updateFlow(t, 'ns', 'f', flowYaml('ns', 'f', { message: 'x' })), 'TENANT_NOT_FOUND');
    expect(errorCode(await getFlow(t, 'ns', 'f'))).toBe('TENANT_NOT_FOUND');
    expect(errorCode(await listFlows(t, ''))).toBe('TENANT_NOT_FOUND');
  });

  it('lets a developer bound on one namespace see and change only flows of that subtree', async () => {
    const t = await newTenant();
    for (const [ns, id] of [
      ['team', 'mine'],
      ['team.sub', 'also-mine'],
      ['other', 'theirs'],
    ] as const) {
      expectData(await createFlow(t, flowYaml(ns, id)));
    }
    expectData(await gw.gql(`mutation { createUser(input: {id: "dev", email: "dev@example.com"}) { id } }`));
    const system = systemCaller(gw.app);
    await gw.app.execute(bindingDecider, streamName(t, 'binding', 'dev-team'), {
      type: 'CreateBinding',
      data: { id: 'dev-team', principalType: 'USER', principalId: 'dev', roleId: 'developer', namespace: 'team' },
      metadata: system.commandMetadata(t),
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dev')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const asDev = { tenant: t, token };

    const listed = expectData(
      await gw.gql<{ flows: { totalCount: number; edges: { node: { id: string; namespaceRef: { id: string } | null } }[] } }>(
        `{ flows { totalCount edges { node { id namespaceRef { id } } } } }`,
        {},
        asDev,
      ),
    ).flows;
    expect(listed.totalCount).toBe(2);
    expect(listed.edges.map((e) => [e.node.id, e.node.namespaceRef?.id])).toEqual([
      ['mine', 'team'],
      ['also-mine', 'team.sub'],
    ]);
    expect(expectData(await gw.gql<{ flow: unknown }>(`{ flow(namespace: "other", id: "theirs") { id } }`, {}, asDev)).flow).toBeNull();

    const before = await gw.eventCount();
    const forbidden = await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowYaml('other', 'new') }, asDev);
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    expect(forbidden.errors?.[0]?.extensions['permission']).toBe('FLOW:CREATE');
    expect(errorCode(await gw.gql(`mutation { deleteFlow(namespace: "other", id: "theirs") { id } }`, {}, asDev))).toBe('FORBIDDEN');
    expect(await gw.eventCount()).toBe(before);

    const created = expectData(
      await gw.gql<{ createFlow: { revision: number; updatedBy: string } }>(
        `mutation($s: String!) { createFlow(source: $s) { revision updatedBy } }`,
        { s: flowYaml('team.new', 'built') },
        asDev,
      ),
    ).createFlow;
    expect(created).toEqual({ revision: 1, updatedBy: 'dev' });
  });
});
