/**
 * Flow resolvers through Apollo's executeOperation (test/support/operations.ts):
 * create, update, revisions and the source of each revision (the
 * FlowRevision.source field resolver and its loader), on the real services
 * and memory stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, expectData } from '../../support/gateway.js';
import { startResolverFixture, type ResolverFixture } from '../../support/operations.js';

const flowYaml = (namespace: string, id: string, message: string, tasks = ['log']): string =>
  `id: ${id}\nnamespace: ${namespace}\ndescription: Says ${message}\ntasks:\n${tasks
    .map((t) => `  - id: ${t}\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`)
    .join('')}`;

interface FlowResult {
  id: string;
  namespace: string;
  revision: number;
  revisionCount: number;
  source: string;
  description: string | null;
  deleted: boolean;
  updatedBy: string;
  tasks: { id: string; type: string }[];
}

const FLOW_FIELDS = 'id namespace revision revisionCount source description deleted updatedBy tasks { id type }';

describe('flow resolvers (executeOperation, memory stores)', () => {
  let fx: ResolverFixture;
  let tenantSeq = 0;

  beforeAll(async () => {
    fx = await startResolverFixture();
  });
  afterAll(async () => {
    await fx.dispose();
  });

  const newTenant = (): Promise<string> => fx.createTenant(`flows-${++tenantSeq}`);

  const createFlow = (tenant: string, source: string) =>
    fx.run<{ createFlow: FlowResult }>(`mutation($s: String!) { createFlow(source: $s) { ${FLOW_FIELDS} } }`, { s: source }, { tenant });

  const updateFlow = (tenant: string, namespace: string, id: string, source: string, expectedRevision: number | null = null) =>
    fx.run<{ updateFlow: FlowResult }>(
      `mutation($ns: String!, $id: ID!, $s: String!, $r: Int) { updateFlow(namespace: $ns, id: $id, source: $s, expectedRevision: $r) { ${FLOW_FIELDS} } }`,
      { ns: namespace, id, s: source, r: expectedRevision },
      { tenant },
    );

  it('creates a flow from its source: id, namespace, description and tasks come from the YAML', async () => {
    const t = await newTenant();
    const source = flowYaml('company.team', 'hello', 'hi', ['log', 'again']);
    const created = expectData(await createFlow(t, source)).createFlow;
    expect(created).toEqual({
      id: 'hello',
      namespace: 'company.team',
      revision: 1,
      revisionCount: 1,
      source,
      description: 'Says hi',
      deleted: false,
      updatedBy: 'admin',
      tasks: [
        { id: 'log', type: 'io.kestra.plugin.core.log.Log' },
        { id: 'again', type: 'io.kestra.plugin.core.log.Log' },
      ],
    });
    const listed = expectData(
      await fx.run<{ flows: { totalCount: number; edges: { node: { id: string; namespace: string } }[] } }>(
        `{ flows(first: 10) { totalCount edges { node { id namespace } } } }`,
        {},
        { tenant: t },
      ),
    ).flows;
    expect(listed).toEqual({ totalCount: 1, edges: [{ node: { id: 'hello', namespace: 'company.team' } }] });
  });

  it('updates make revisions, each with its own source, readable by revision number', async () => {
    const t = await newTenant();
    const sources = ['one', 'two', 'three'].map((m) => flowYaml('company', 'hello', m));
    expectData(await createFlow(t, sources[0]!));
    expect(expectData(await updateFlow(t, 'company', 'hello', sources[1]!, 1)).updateFlow).toMatchObject({
      revision: 2,
      source: sources[1],
    });
    expect(expectData(await updateFlow(t, 'company', 'hello', sources[2]!)).updateFlow).toMatchObject({
      revision: 3,
      revisionCount: 3,
      description: 'Says three',
    });

    const flow = expectData(
      await fx.run<{
        flow: FlowResult & { revisions: { revision: number; updatedBy: string; restoredFrom: number | null; source: string }[] };
      }>(
        `{ flow(namespace: "company", id: "hello") { ${FLOW_FIELDS} revisions { revision updatedBy restoredFrom source } } }`,
        {},
        { tenant: t },
      ),
    ).flow;
    expect(flow.revision).toBe(3);
    expect(flow.revisions).toEqual([
      { revision: 1, updatedBy: 'admin', restoredFrom: null, source: sources[0] },
      { revision: 2, updatedBy: 'admin', restoredFrom: null, source: sources[1] },
      { revision: 3, updatedBy: 'admin', restoredFrom: null, source: sources[2] },
    ]);

    const second = expectData(
      await fx.run<{ flow: FlowResult }>(`{ flow(namespace: "company", id: "hello", revision: 2) { ${FLOW_FIELDS} } }`, {}, { tenant: t }),
    ).flow;
    expect(second).toMatchObject({ revision: 2, source: sources[1], description: 'Says two' });
  });

  it('restoring an old revision saves its source as a new revision that names where it came from', async () => {
    const t = await newTenant();
    const v1 = flowYaml('company', 'hello', 'one');
    expectData(await createFlow(t, v1));
    expectData(await updateFlow(t, 'company', 'hello', flowYaml('company', 'hello', 'two')));
    const restored = expectData(
      await fx.run<{
        restoreFlowRevision: FlowResult & { revisions: { revision: number; restoredFrom: number | null; source: string }[] };
      }>(
        `mutation { restoreFlowRevision(namespace: "company", id: "hello", revision: 1) { ${FLOW_FIELDS} revisions(last: 1) { revision restoredFrom source } } }`,
        {},
        { tenant: t },
      ),
    ).restoreFlowRevision;
    expect(restored).toMatchObject({ revision: 3, source: v1 });
    expect(restored.revisions).toEqual([{ revision: 3, restoredFrom: 1, source: v1 }]);
  });

  it('refuses a stale expectedRevision (CONFLICT), an unknown flow (NOT_FOUND) and a source without tasks (BAD_USER_INPUT), writing nothing', async () => {
    const t = await newTenant();
    expectData(await createFlow(t, flowYaml('company', 'hello', 'one')));
    const before = await fx.eventCount();
    const stale = await updateFlow(t, 'company', 'hello', flowYaml('company', 'hello', 'two'), 7);
    expect(errorCode(stale)).toBe('CONFLICT');
    expect(stale.data).toEqual({ updateFlow: null });
    expect(errorCode(await updateFlow(t, 'company', 'nobody', flowYaml('company', 'nobody', 'x')))).toBe('NOT_FOUND');
    expect(errorCode(await createFlow(t, 'id: empty\nnamespace: company\n'))).toBe('BAD_USER_INPUT');
    expect(await fx.eventCount()).toBe(before);
  });
});
