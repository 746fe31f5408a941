/**
 * validateFlow and resolvedFlow over GraphQL: a flow that uses a missing
 * secret, a namespace that does not allow it and an unknown variable has each
 * problem named; secrets are checked by their metadata and no value is ever
 * returned; resolvedFlow(asOf) before and after a change of a parent
 * namespace's variables answers differently, with the revisions it used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowSourceWorkers, INLINE_PARSE_MAX_CHARS } from '../../src/aggregates/flow/flow-source.async.js';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const T = 'acme';
const SECRET_VALUE = 's3cr3t-never-returned';

interface Reference {
  kind: string;
  name: string;
  path: string;
  rendered: boolean;
  status: string;
  namespace: string | null;
  revision: number | null;
}
interface Resolved {
  revision: number | null;
  asOf: string | null;
  variables: { key: string; value: unknown; namespace: string }[];
  references: Reference[];
  namespaceReferences: { plugin: string; path: string; namespace: string; allowed: boolean; rule: string; revision: number | null }[];
  used: { kind: string; id: string; revision: number }[];
  problems: { code: string; message: string; path: string | null }[];
  plugins: { id: string; properties: Record<string, unknown> }[];
}
const RESOLVED_FIELDS = `revision asOf variables { key value namespace }
  references { kind name path rendered status namespace revision }
  namespaceReferences { plugin path namespace allowed rule revision }
  used { kind id revision } problems { code message path } plugins { id properties }`;
const VALIDATE = `query($s: String!) { validateFlow(source: $s) { valid problems { code message path } resolved { ${RESOLVED_FIELDS} } } }`;
const RESOLVE = `query($ns: String!, $id: ID!, $r: Int, $at: DateTime) { resolvedFlow(namespace: $ns, id: $id, revision: $r, asOf: $at) { ${RESOLVED_FIELDS} } }`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('validateFlow and resolvedFlow', () => {
  let gw: TestGateway;
  const q = <D>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const validate = async (source: string, token?: string) =>
    expectData(
      await q<{ validateFlow: { valid: boolean; problems: Resolved['problems']; resolved: Resolved | null } }>(
        VALIDATE,
        { s: source },
        token,
      ),
    ).validateFlow;
  const resolve = async (ns: string, id: string, at: { revision?: number; asOf?: string } = {}) =>
    expectData(await q<{ resolvedFlow: Resolved | null }>(RESOLVE, { ns, id, r: at.revision ?? null, at: at.asOf ?? null })).resolvedFlow;
  const setVariables = async (id: string, variables: Record<string, unknown>) =>
    expectData(
      await q<{ updateNamespace: { revision: number } }>(
        `mutation($id: ID!, $v: JSON) { updateNamespace(id: $id, input: {variables: $v}) { revision } }`,
        {
          id,
          v: variables,
        },
      ),
    ).updateNamespace.revision;

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
    for (const id of ['company', 'company.team', 'company.shared']) {
      expectData(await q(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }));
    }
    await setVariables('company', {
      region: 'eu',
      db: { host: 'db1' },
      conn: "jdbc://user:{{ secret('DB_PASS') }}@{{ namespace.db.host }}",
    });
    expectData(await q(`mutation { updateNamespace(id: "company.shared", input: {allowedNamespacesMode: NONE}) { id } }`));
    expectData(
      await q(`mutation($v: String!) { putSecret(input: {namespace: "company", key: "DB_PASS", value: $v}) { version } }`, {
        v: SECRET_VALUE,
      }),
    );
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const BROKEN = [
    'id: broken',
    'namespace: company.team',
    'tasks:',
    '  - id: log',
    '    type: io.kestra.plugin.core.log.Log',
    `    message: "{{ secret('NOT_THERE') }} in {{ namespace.region }} and {{ namespace.nope }} ({{ flow.namespace }})"`,
    '  - id: call',
    '    type: io.kestra.plugin.core.flow.Subflow',
    '    namespace: company.shared',
    '    flowId: other',
    '  - id: connect',
    '    type: io.kestra.plugin.jdbc.postgresql.Query',
    '    url: "{{ render(namespace.conn) }}"',
    '',
  ].join('\n');

  it('names a missing secret, a namespace that does not allow the flow and an unknown variable, without saving', async () => {
    const events = await gw.eventCount();
    const result = await validate(BROKEN);
    expect(result.valid).toBe(false);
    expect(result.problems).toEqual([
      { code: 'MISSING_SECRET', message: expect.stringContaining('NOT_THERE') as string, path: 'tasks[0].message' },
      { code: 'UNKNOWN_VARIABLE', message: expect.stringContaining('namespace.nope') as string, path: 'tasks[0].message' },
      { code: 'NAMESPACE_NOT_ALLOWED', message: expect.stringContaining('company.shared') as string, path: 'tasks[1].namespace' },
    ]);
    const resolved = result.resolved!;
    expect(resolved.revision).toBeNull();
    // render(namespace.conn) is followed into the variable: its secret and variable are checked too, and found.
    expect(resolved.references).toEqual([
      { kind: 'SECRET', name: 'NOT_THERE', path: 'tasks[0].message', rendered: false, status: 'MISSING', namespace: null, revision: null },
      { kind: 'VARIABLE', name: 'region', path: 'tasks[0].message', rendered: false, status: 'FOUND', namespace: 'company', revision: 2 },
      { kind: 'VARIABLE', name: 'nope', path: 'tasks[0].message', rendered: false, status: 'MISSING', namespace: null, revision: null },
      { kind: 'VARIABLE', name: 'conn', path: 'tasks[2].url', rendered: true, status: 'FOUND', namespace: 'company', revision: 2 },
      {
        kind: 'SECRET',
        name: 'DB_PASS',
        path: 'tasks[2].url → namespace.conn',
        rendered: false,
        status: 'FOUND',
        namespace: 'company',
        revision: 1,
      },
      {
        kind: 'VARIABLE',
        name: 'db.host',
        path: 'tasks[2].url → namespace.conn',
        rendered: false,
        status: 'FOUND',
        namespace: 'company',
        revision: 2,
      },
    ]);
    expect(resolved.namespaceReferences).toEqual([
      { plugin: 'call', path: 'tasks[1].namespace', namespace: 'company.shared', allowed: false, rule: 'NO_NAMESPACES', revision: 2 },
    ]);
    expect(resolved.used).toEqual([
      { kind: 'NAMESPACE', id: 'company', revision: 2 },
      { kind: 'NAMESPACE', id: 'company.shared', revision: 2 },
      { kind: 'NAMESPACE', id: 'company.team', revision: 1 },
      { kind: 'SECRET', id: 'company/DB_PASS', revision: 1 },
    ]);
    expect(JSON.stringify(result)).not.toContain(SECRET_VALUE);
    expect(await gw.eventCount()).toBe(events);
  });

  it('answers valid for a flow with nothing wrong, and INVALID_SOURCE with the path for a source that does not parse', async () => {
    const ok = await validate(
      'id: fine\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ namespace.region }}"\n',
    );
    expect(ok).toMatchObject({ valid: true, problems: [] });
    const bad = await validate('id: bad\nnamespace: company.team\ntasks:\n  - id: log\n');
    expect(bad).toEqual({
      valid: false,
      problems: [{ code: 'INVALID_SOURCE', message: expect.stringContaining('type') as string, path: 'tasks[0].type' }],
      resolved: null,
    });
  });

  it('refuses validateFlow to a caller who may not view flows in the namespace, and hides secrets the caller may not list', async () => {
    const outsider = await createUserWithToken(gw, 'outsider');
    await bind(gw, T, { principalType: 'USER', principalId: 'outsider', roleId: 'viewer', namespace: 'elsewhere' });
    expect(errorCode(await q(VALIDATE, { s: BROKEN }, outsider))).toBe('FORBIDDEN');
    // A role without SECRET on company: the secret's metadata is not read for this caller.
    expectData(
      await q(
        `mutation { createRole(input: {id: "flow-reader", name: "Flow reader", permissions: [{resource: "FLOW", actions: ["VIEW", "LIST"]}]}) { id } }`,
      ),
    );
    const reader = await createUserWithToken(gw, 'reader');
    await bind(gw, T, { principalType: 'USER', principalId: 'reader', roleId: 'flow-reader', namespace: 'company.team' });
    const seen = await validate(BROKEN, reader);
    expect(seen.resolved?.references.filter((r) => r.kind === 'SECRET').map((r) => [r.name, r.status])).toEqual([
      ['NOT_THERE', 'NOT_VISIBLE'],
      ['DB_PASS', 'NOT_VISIBLE'],
    ]);
    expect(seen.problems.map((p) => p.code)).not.toContain('MISSING_SECRET');
  });

  it("resolvedFlow(asOf) before and after a change of a parent namespace's variables answers differently, with the revisions used", async () => {
    const source = [
      'id: report',
      'namespace: company.team',
      'tasks:',
      '  - id: log',
      '    type: io.kestra.plugin.core.log.Log',
      '    message: "region {{ namespace.region }}"',
      '',
    ].join('\n');
    expectData(await q(`mutation($s: String!) { createFlow(source: $s) { revision } }`, { s: source }));
    await pause(30);
    const before = new Date().toISOString();
    await pause(30);
    const companyRevision = await setVariables('company', { region: 'us', db: { host: 'db1' } });
    await pause(30);
    const after = new Date().toISOString();

    const then = (await resolve('company.team', 'report', { asOf: before }))!;
    const now = (await resolve('company.team', 'report', { asOf: after }))!;
    expect(then.variables.find((v) => v.key === 'region')).toEqual({ key: 'region', value: 'eu', namespace: 'company' });
    expect(now.variables.find((v) => v.key === 'region')).toEqual({ key: 'region', value: 'us', namespace: 'company' });
    expect(then.used).toEqual([
      { kind: 'FLOW', id: 'company.team.report', revision: 1 },
      { kind: 'NAMESPACE', id: 'company', revision: companyRevision - 1 },
      { kind: 'NAMESPACE', id: 'company.team', revision: 1 },
    ]);
    expect(now.used).toContainEqual({ kind: 'NAMESPACE', id: 'company', revision: companyRevision });
    expect(then.references[0]).toMatchObject({ name: 'region', status: 'FOUND', revision: companyRevision - 1 });
    expect(now.references[0]).toMatchObject({ name: 'region', status: 'FOUND', revision: companyRevision });
    expect(then.asOf).toBe(before);
    // Without asOf: as things are now; conn was dropped by the change, the flow never used it.
    expect((await resolve('company.team', 'report'))?.used).toEqual(now.used);
    // Before the flow existed: null.
    expect(await resolve('company.team', 'report', { asOf: '2000-01-01T00:00:00Z' })).toBeNull();
  });

  it('a caller who may view flows nowhere is refused before the source is parsed (broken YAML answers FORBIDDEN, not INVALID_SOURCE)', async () => {
    expectData(
      await q(
        `mutation { createRole(input: {id: "ns-viewer", name: "Namespace viewer", permissions: [{resource: "NAMESPACE", actions: ["VIEW"]}]}) { id } }`,
      ),
    );
    const nobody = await createUserWithToken(gw, 'nobody');
    await bind(gw, T, { principalType: 'USER', principalId: 'nobody', roleId: 'ns-viewer' });
    expect(errorCode(await q(VALIDATE, { s: 'id: [unclosed\n  namespace: : :' }, nobody))).toBe('FORBIDDEN');
  });

  it('large sources are parsed on the parser threads, not the event loop: validateFlow, resolvedFlow and the allowed-namespace check of a save', async () => {
    const padding = `# ${'p'.repeat(INLINE_PARSE_MAX_CHARS)}\n`;
    const large = `${padding}${BROKEN.replace('id: broken', 'id: large').replace('namespace: company.shared', 'namespace: company')}`;
    let before = flowSourceWorkers.completed;
    const checked = await validate(large);
    expect(checked.problems.map((p) => p.code)).toContain('MISSING_SECRET');
    expect(flowSourceWorkers.completed - before).toBe(1);
    // Saving: the definition, then the document for the allowed-namespace check (it names another namespace).
    before = flowSourceWorkers.completed;
    expectData(await q(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: large }));
    expect(flowSourceWorkers.completed - before).toBe(2);
    before = flowSourceWorkers.completed;
    expect((await resolve('company.team', 'large'))?.problems.map((p) => p.code)).toContain('MISSING_SECRET');
    expect(flowSourceWorkers.completed - before).toBe(1);
  });
});
