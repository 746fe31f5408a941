/**
 * Lifecycles over GraphQL: a deleted namespace comes back with its settings
 * (restoreNamespace), a deleted flow comes back with its last source as a new
 * revision (restoreFlow); each is a RESTORE entry in the audit log, and the
 * refusals (not deleted, unknown, stale expectedRevision, no right, a
 * namespace that no longer allows the flow) write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const T = 'acme';
const NS_FIELDS =
  'id existing revision description variables pluginDefaults { type forced values } allowedNamespaces allowedNamespacesMode';
const FLOW_FIELDS = 'revision source deleted revisionCount';

const flowYaml = (message: string, extra = '') =>
  `id: job\nnamespace: team.a\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n${extra}`;

describe('restore: namespaces and flows', () => {
  let gw: TestGateway;
  let viewer: string;
  const q = <D = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const audit = async (resourceType: string, resourceId: string) =>
    expectData(
      await q<{ auditLogs: { edges: { node: { action: string; eventType: string; actor: { id: string } } }[] } }>(
        `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 100) { edges { node { action eventType actor { id } } } } }`,
        { f: { resourceType, resourceId } },
      ),
    ).auditLogs.edges.map((e) => e.node);
  const restoreNamespace = (id: string, expectedRevision: number | null = null, token?: string) =>
    q<{ restoreNamespace: Record<string, unknown> }>(
      `mutation($id: ID!, $r: Int) { restoreNamespace(id: $id, expectedRevision: $r) { ${NS_FIELDS} } }`,
      { id, r: expectedRevision },
      token,
    );
  const restoreFlow = (expectedRevision: number | null = null, token?: string) =>
    q<{ restoreFlow: { revision: number; source: string; deleted: boolean; revisionCount: number } }>(
      `mutation($r: Int) { restoreFlow(namespace: "team.a", id: "job", expectedRevision: $r) { ${FLOW_FIELDS} } }`,
      { r: expectedRevision },
      token,
    );
  const refused = async (run: () => Promise<GqlResult<unknown>>, code: string) => {
    const events = await gw.eventCount();
    const result = await run();
    expect(errorCode(result), JSON.stringify(result.data)).toBe(code);
    expect(await gw.eventCount()).toBe(events);
    return result;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    viewer = await createUserWithToken(gw, 'vic');
    await bind(gw, T, { principalType: 'USER', principalId: 'vic', roleId: 'viewer' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('restores a deleted namespace with the settings it had, audited as RESTORE; a re-create would start empty', async () => {
    expectData(await q(`mutation { createNamespace(input: {id: "gone", description: "keep me"}) { id } }`));
    const input = {
      variables: { region: 'eu' },
      pluginDefaults: [{ type: 'io.kestra.plugin.aws', forced: true, values: { region: 'eu-west-1' } }],
      allowedNamespacesMode: 'LIST',
      allowedNamespaces: ['team.a'],
    };
    const before = expectData(
      await q<{ updateNamespace: Record<string, unknown> }>(
        `mutation($in: UpdateNamespaceInput!) { updateNamespace(id: "gone", input: $in) { ${NS_FIELDS} } }`,
        {
          in: input,
        },
      ),
    ).updateNamespace;
    expectData(await q(`mutation { deleteNamespace(id: "gone") { id } }`));
    expect(expectData(await q<{ namespace: unknown }>(`{ namespace(id: "gone") { id } }`)).namespace).toBeNull();

    await refused(() => restoreNamespace('gone', 1), 'CONFLICT');
    await refused(() => restoreNamespace('gone', null, viewer), 'FORBIDDEN');
    const restored = expectData(await restoreNamespace('gone', 3)).restoreNamespace;
    expect(restored).toEqual({ ...before, revision: 4 });
    expect(expectData(await q<{ namespace: Record<string, unknown> }>(`{ namespace(id: "gone") { ${NS_FIELDS} } }`)).namespace).toEqual(
      restored,
    );
    expect((await audit('NAMESPACE', 'gone')).map((e) => e.action)).toEqual(
      expect.arrayContaining(['CREATE', 'UPDATE', 'DELETE', 'RESTORE']),
    );

    await refused(() => restoreNamespace('gone'), 'CONFLICT');
    await refused(() => restoreNamespace('never.was'), 'NOT_FOUND');

    // Deleted, then created again: empty, as before.
    expectData(await q(`mutation { deleteNamespace(id: "gone") { id } }`));
    const recreated = expectData(
      await q<{ createNamespace: { variables: unknown } }>(`mutation { createNamespace(input: {id: "gone"}) { variables } }`),
    );
    expect(recreated.createNamespace.variables).toEqual({});
  });

  it('restores a deleted flow with its last source as a new revision, audited as RESTORE', async () => {
    expectData(await q(`mutation($s: String!) { createFlow(source: $s) { revision } }`, { s: flowYaml('one') }));
    expectData(
      await q(`mutation($s: String!) { updateFlow(namespace: "team.a", id: "job", source: $s) { revision } }`, { s: flowYaml('two') }),
    );
    await refused(() => restoreFlow(), 'CONFLICT'); // not deleted
    expectData(await q(`mutation { deleteFlow(namespace: "team.a", id: "job") { deleted } }`));

    await refused(() => restoreFlow(1), 'CONFLICT');
    await refused(() => restoreFlow(null, viewer), 'FORBIDDEN');
    await refused(() => q(`mutation { restoreFlow(namespace: "team.a", id: "nothing") { revision } }`), 'NOT_FOUND');
    const restored = expectData(await restoreFlow(2)).restoreFlow;
    expect(restored).toEqual({ revision: 3, source: flowYaml('two'), deleted: false, revisionCount: 3 });
    const revisions = expectData(
      await q<{ flow: { revisions: { revision: number; restoredFrom: number | null }[] } }>(
        `{ flow(namespace: "team.a", id: "job") { revisions { revision restoredFrom } } }`,
      ),
    ).flow.revisions;
    expect(revisions.at(-1)).toEqual({ revision: 3, restoredFrom: 2 });
    expect((await audit('FLOW', 'team.a.job')).map((e) => [e.action, e.eventType])).toEqual(
      expect.arrayContaining([
        ['CREATE', 'FlowCreated'],
        ['DELETE', 'FlowDeleted'],
        ['RESTORE', 'FlowCreated'],
      ]),
    );
  });

  it("refuses to restore a flow that uses a namespace which no longer allows the flow's namespace", async () => {
    expectData(await q(`mutation { createNamespace(input: {id: "shared"}) { id } }`));
    const subflow = '  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: shared\n    flowId: x\n';
    expectData(
      await q(`mutation($s: String!) { updateFlow(namespace: "team.a", id: "job", source: $s) { revision } }`, {
        s: flowYaml('three', subflow),
      }),
    );
    expectData(await q(`mutation { deleteFlow(namespace: "team.a", id: "job") { deleted } }`));
    expectData(await q(`mutation { updateNamespace(id: "shared", input: {allowedNamespacesMode: NONE}) { id } }`));
    const result = await refused(() => restoreFlow(), 'BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions).toMatchObject({ reason: 'NAMESPACE_NOT_ALLOWED', path: 'tasks[1].namespace' });
  });
});
