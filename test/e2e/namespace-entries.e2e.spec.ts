/**
 * Additive changes to a namespace's variables and plugin defaults, over
 * GraphQL: set and unset one entry without replacing the map (the anti-example
 * is terraform-provider-kestra#228, where a full replace destroyed entries
 * other tools had set), next to the full replace, which also takes YAML
 * documents as Kestra's Terraform resource does. Each change is in the audit
 * log; refusals write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

interface PluginDefault {
  type: string;
  forced: boolean;
  values: Record<string, unknown>;
}
interface Ns {
  id: string;
  revision: number;
  variables: Record<string, unknown>;
  pluginDefaults: PluginDefault[];
}
interface AuditNode {
  resourceType: string;
  resourceId: string;
  action: string;
  eventType: string;
  actor: { id: string };
  changes: Record<string, { before: unknown; after: unknown }> | null;
}

const T = 'acme';
const NS = `id revision variables pluginDefaults { type forced values }`;
const AWS = 'io.kestra.plugin.aws.s3.Upload';
const LOG = 'io.kestra.plugin.core.log.Log';

describe('namespace settings: one entry at a time, YAML documents', () => {
  let gw: TestGateway;
  let viewerToken: string;

  const q = <D = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const read = async (id: string): Promise<Ns> =>
    expectData(await q<{ namespace: Ns }>(`query($id: ID!) { namespace(id: $id) { ${NS} } }`, { id })).namespace;
  const setVar = (id: string, key: string, value: unknown, expectedRevision: number | null = null, token?: string) =>
    q<{ setNamespaceVariable: Ns }>(
      `mutation($id: ID!, $k: String!, $v: JSON!, $r: Int) { setNamespaceVariable(id: $id, key: $k, value: $v, expectedRevision: $r) { ${NS} } }`,
      { id, k: key, v: value, r: expectedRevision },
      token,
    );
  const unsetVar = (id: string, key: string, expectedRevision: number | null = null) =>
    q<{ unsetNamespaceVariable: Ns }>(
      `mutation($id: ID!, $k: String!, $r: Int) { unsetNamespaceVariable(id: $id, key: $k, expectedRevision: $r) { ${NS} } }`,
      { id, k: key, r: expectedRevision },
    );
  const setDefault = (id: string, pluginDefault: Record<string, unknown>, expectedRevision: number | null = null) =>
    q<{ setNamespacePluginDefault: Ns }>(
      `mutation($id: ID!, $p: PluginDefaultInput!, $r: Int) { setNamespacePluginDefault(id: $id, pluginDefault: $p, expectedRevision: $r) { ${NS} } }`,
      { id, p: pluginDefault, r: expectedRevision },
    );
  const unsetDefault = (id: string, type: string, forced = false) =>
    q<{ unsetNamespacePluginDefault: Ns }>(
      `mutation($id: ID!, $t: String!, $f: Boolean!) { unsetNamespacePluginDefault(id: $id, type: $t, forced: $f) { ${NS} } }`,
      { id, t: type, f: forced },
    );
  const update = (id: string, input: Record<string, unknown>) =>
    q<{ updateNamespace: Ns }>(`mutation($id: ID!, $in: UpdateNamespaceInput!) { updateNamespace(id: $id, input: $in) { ${NS} } }`, {
      id,
      in: input,
    });
  const audit = async (resourceId: string): Promise<AuditNode[]> =>
    expectData(
      await q<{ auditLogs: { edges: { node: AuditNode }[] } }>(
        `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 200) { edges { node { resourceType resourceId action eventType actor { id } changes } } } }`,
        { f: { resourceType: 'NAMESPACE', resourceId } },
      ),
    ).auditLogs.edges.map((e) => e.node);
  const refused = (result: GqlResult<unknown>, code: string) => {
    expect(result.errors, JSON.stringify(result.data)).toBeDefined();
    expect(errorCode(result)).toBe(code);
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    for (const id of ['company', 'company.team', 'yaml.ns']) {
      expectData(await q(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }));
    }
    viewerToken = await createUserWithToken(gw, 'vera');
    await bind(gw, T, { principalType: 'USER', principalId: 'vera', roleId: 'viewer' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('sets one variable without touching the others, replaces a value, unsets one, and audits each change', async () => {
    expectData(await update('company', { variables: { managedByTerraform: 'yes', region: 'eu' } }));
    // A second tool adds its own entry: the first tool's entries stay.
    const added = expectData(await setVar('company', 'owner', { team: 'data', oncall: ['ana'] })).setNamespaceVariable;
    expect(added.variables).toEqual({ managedByTerraform: 'yes', region: 'eu', owner: { team: 'data', oncall: ['ana'] } });
    const replaced = expectData(await setVar('company', 'region', 'us')).setNamespaceVariable;
    expect(replaced.variables).toEqual({ managedByTerraform: 'yes', region: 'us', owner: { team: 'data', oncall: ['ana'] } });
    const removed = expectData(await unsetVar('company', 'owner')).unsetNamespaceVariable;
    expect(removed.variables).toEqual({ managedByTerraform: 'yes', region: 'us' });
    expect(removed.revision).toBe(replaced.revision + 1);
    expect(await read('company')).toMatchObject({ revision: removed.revision, variables: { managedByTerraform: 'yes', region: 'us' } });

    const updates = (await audit('company')).filter((e) => e.action === 'UPDATE');
    expect(updates.map((e) => e.changes?.['variables'])).toEqual(
      expect.arrayContaining([
        {
          before: { managedByTerraform: 'yes', region: 'eu' },
          after: { managedByTerraform: 'yes', region: 'eu', owner: { team: 'data', oncall: ['ana'] } },
        },
        { before: { managedByTerraform: 'yes', region: 'eu', owner: { team: 'data', oncall: ['ana'] } }, after: replaced.variables },
        { before: replaced.variables, after: { managedByTerraform: 'yes', region: 'us' } },
      ]),
    );
    for (const entry of updates)
      expect(entry).toMatchObject({ resourceType: 'NAMESPACE', eventType: 'NamespaceUpdated', actor: { id: 'admin' } });
  });

  it('writes nothing when an unset finds nothing or a set changes nothing', async () => {
    const before = await read('company');
    const events = await gw.eventCount();
    expect(expectData(await unsetVar('company', 'never-set')).unsetNamespaceVariable.revision).toBe(before.revision);
    expect(expectData(await setVar('company', 'region', 'us')).setNamespaceVariable.revision).toBe(before.revision);
    expect(expectData(await unsetDefault('company', 'io.kestra.plugin.none')).unsetNamespacePluginDefault.revision).toBe(before.revision);
    expect(await gw.eventCount()).toBe(events);
  });

  it('sets one plugin default per (type, forced) pair, keeps the others, and unsets one', async () => {
    expectData(await update('company.team', { pluginDefaults: [{ type: LOG, values: { level: 'INFO' } }] }));
    expectData(await setDefault('company.team', { type: 'io.kestra.plugin.aws', values: { region: 'eu-west-1' } }));
    expectData(await setDefault('company.team', { type: 'io.kestra.plugin.aws', forced: true, values: { accessKeyId: 'x' } }));
    const replaced = expectData(await setDefault('company.team', { type: LOG, values: { level: 'DEBUG' } })).setNamespacePluginDefault;
    expect(replaced.pluginDefaults).toEqual([
      { type: LOG, forced: false, values: { level: 'DEBUG' } },
      { type: 'io.kestra.plugin.aws', forced: false, values: { region: 'eu-west-1' } },
      { type: 'io.kestra.plugin.aws', forced: true, values: { accessKeyId: 'x' } },
    ]);
    const removed = expectData(await unsetDefault('company.team', 'io.kestra.plugin.aws', true)).unsetNamespacePluginDefault;
    expect(removed.pluginDefaults).toEqual([
      { type: LOG, forced: false, values: { level: 'DEBUG' } },
      { type: 'io.kestra.plugin.aws', forced: false, values: { region: 'eu-west-1' } },
    ]);
    const trail = (await audit('company.team')).filter((e) => e.action === 'UPDATE');
    expect(trail.map((e) => e.changes?.['pluginDefaults']?.after)).toContainEqual(removed.pluginDefaults);
  });

  it('keeps both of two concurrent single-entry changes (each is decided against the current state)', async () => {
    const results = await Promise.all([
      setVar('company.team', 'a', 1),
      setVar('company.team', 'b', 2),
      setDefault('company.team', { type: AWS, values: { bucket: 'b' } }),
    ]);
    for (const result of results) expectData(result as GqlResult<unknown>);
    const now = await read('company.team');
    expect(now.variables).toMatchObject({ a: 1, b: 2 });
    expect(now.pluginDefaults.map((p) => p.type)).toContain(AWS);
  });

  it('refuses a stale expectedRevision with the actual one, a bad key or type, an unknown namespace and a caller without UPDATE', async () => {
    const events = await gw.eventCount();
    const current = await read('company');
    const stale = await setVar('company', 'x', 1, current.revision - 1);
    refused(stale, 'CONFLICT');
    expect(stale.errors?.[0]?.extensions['actualRevision']).toBe(current.revision);
    refused(await setVar('company', '__proto__', 1), 'BAD_USER_INPUT');
    refused(await setVar('company', '', 1), 'BAD_USER_INPUT');
    refused(await setDefault('company', { type: 'not a type', values: {} }), 'BAD_USER_INPUT');
    refused(await setDefault('company', { type: LOG, values: { constructor: 1 } }), 'BAD_USER_INPUT');
    refused(await setVar('company', 'huge', 'x'.repeat(300 * 1024)), 'BAD_USER_INPUT');
    refused(await setVar('nowhere', 'x', 1), 'NOT_FOUND');
    refused(await unsetVar('nowhere', 'x'), 'NOT_FOUND');
    refused(await setVar('company', 'x', 1, null, viewerToken), 'FORBIDDEN');
    expect(await gw.eventCount()).toBe(events);
    // With the right revision it goes through.
    expect(expectData(await setVar('company', 'x', 1, current.revision)).setNamespaceVariable.revision).toBe(current.revision + 1);
  });

  it('takes variables and plugin defaults as YAML documents (a list, or wrapped as in a namespace file)', async () => {
    const vars = expectData(await update('yaml.ns', { variablesYaml: 'region: eu\nlimits:\n  cpu: 2\n  tags: [a, b]\n' })).updateNamespace;
    expect(vars.variables).toEqual({ region: 'eu', limits: { cpu: 2, tags: ['a', 'b'] } });
    const list = `- type: ${LOG}\n  values:\n    level: WARN\n- type: io.kestra.plugin.aws\n  forced: true\n  values:\n    region: eu-west-1\n`;
    expect(expectData(await update('yaml.ns', { pluginDefaultsYaml: list })).updateNamespace.pluginDefaults).toEqual([
      { type: LOG, forced: false, values: { level: 'WARN' } },
      { type: 'io.kestra.plugin.aws', forced: true, values: { region: 'eu-west-1' } },
    ]);
    const wrapped = `pluginDefaults:\n  - type: ${LOG}\n    values: {level: ERROR}\n`;
    expect(expectData(await update('yaml.ns', { pluginDefaultsYaml: wrapped })).updateNamespace.pluginDefaults).toEqual([
      { type: LOG, forced: false, values: { level: 'ERROR' } },
    ]);
    // An empty document clears the map.
    expect(expectData(await update('yaml.ns', { variablesYaml: '' })).updateNamespace.variables).toEqual({});
    const trail = (await audit('yaml.ns')).filter((e) => e.action === 'UPDATE');
    expect(trail.map((e) => e.changes?.['variables']?.after)).toContainEqual({ region: 'eu', limits: { cpu: 2, tags: ['a', 'b'] } });
  });

  it('refuses YAML that is invalid, not the right shape, given next to JSON, or an alias bomb, naming the field', async () => {
    const events = await gw.eventCount();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ variablesYaml: 'a: [1, 2\n' }, 'variablesYaml', /invalid YAML/],
      [{ variablesYaml: 'a: 1\na: 2\n' }, 'variablesYaml', /invalid YAML/],
      [{ variablesYaml: '- just\n- a list\n' }, 'variables', /JSON object/],
      [{ variablesYaml: '__proto__: 1\n' }, 'variables', /forbidden key/],
      [{ variables: { a: 1 }, variablesYaml: 'a: 1' }, 'variablesYaml', /not both/],
      [{ pluginDefaultsYaml: 'type: x\n' }, 'pluginDefaults', /list/],
      [{ pluginDefaultsYaml: '- type: "bad type"\n' }, 'pluginDefaults[0].type', /plugin type/],
      [{ pluginDefaultsYaml: '- type: a.B\n', pluginDefaults: [] }, 'pluginDefaultsYaml', /not both/],
      [{ variablesYaml: '['.repeat(5000) }, 'variablesYaml', /nested too deeply/],
    ];
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      bomb.push(`${next}: &${next} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    cases.push([{ variablesYaml: bomb.join('\n') }, 'variablesYaml', /invalid YAML/]);
    for (const [input, field, message] of cases) {
      const result = await update('yaml.ns', input);
      refused(result, 'BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions['field'], JSON.stringify(input).slice(0, 80)).toBe(field);
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    expect(await gw.eventCount()).toBe(events);
  });
});
